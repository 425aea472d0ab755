"""The archive of published 通报 (monthly bulletins): one row per period and profile versions, with the PDF.

A row names the profile versions it was scored with, so a published bulletin can be regenerated and compared
(same data + same versions → the same document) even after a profile has a newer version.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Integer, LargeBinary, String, Table, UniqueConstraint

from core.db.base import metadata

evaluation_bulletins = Table(
    "evaluation_bulletins",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("period_kind", String(8), nullable=False),
    Column("first_day", Date, nullable=False, index=True),
    Column("last_day", Date, nullable=False),
    Column("department_profile", String(64), nullable=False),
    Column("department_profile_version", Integer, nullable=False),
    Column("region_profile", String(64), nullable=False),
    Column("region_profile_version", Integer, nullable=False),
    Column("title", String(200), nullable=False),
    Column("as_of", DateTime, nullable=False),
    Column("issued_at", DateTime, nullable=False),  # the date printed on it (first working day after the period)
    Column("generated_at", DateTime, nullable=False),
    Column("generated_by", String(64), nullable=False),  # a user name, or "scheduler"
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("pdf", LargeBinary, nullable=False),
    UniqueConstraint(
        "period_kind",
        "first_day",
        "department_profile",
        "department_profile_version",
        "region_profile",
        "region_profile_version",
        name="uq_evaluation_bulletins_period_profiles",
    ),
)

TABLES = (evaluation_bulletins,)
