"""Web tables: server-side login sessions and uploaded photos."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Table, Text

from core.db.base import metadata

# One row per browser login. The cookie carries a random token; only its SHA-256 is stored, so a leaked
# database does not hand out live sessions. Logout, password reset and deactivation revoke rows at once.
web_sessions = Table(
    "web_sessions", metadata,
    Column("id", String(64), primary_key=True),  # sha256 hex of the cookie token
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
    Column("remote", String(64)),
    Column("user_agent", String(200)),
    Index("ix_web_sessions_user", "user_id"),
)

# Photos uploaded by departments and inspectors; the files live under settings.data_path("photos").
photos = Table(
    "photos", metadata,
    Column("id", String(32), primary_key=True),
    Column("uploaded_by", String(64), nullable=False),
    Column("uploaded_role", String(16), nullable=False),
    Column("department_code", String(32)),
    Column("content_type", String(32), nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# One row per request created through Open311: the token a client may look the request up by
# (GET /open311/v2/tokens/{token}), and what the client sent that the case itself does not keep.
open311_requests = Table(
    "open311_requests", metadata,
    Column("token", String(32), primary_key=True),
    Column("case_no", String(16), nullable=False, unique=True),
    Column("client", String(64), nullable=False),  # the api_key's user
    Column("account_id", String(100)),
    Column("device_id", String(100)),
    Column("email", String(200)),
    Column("media_url", Text),
    Column("attributes", Text),  # the attribute[...] answers, JSON
    Column("created_at", DateTime, nullable=False),
)

# One row per case reported through the public web form: its photos and, for a report without a phone
# number, the SHA-256 of the four-digit 查询码 shown once to the reporter (they track with it on /track).
public_reports = Table(
    "public_reports", metadata,
    Column("case_no", String(16), primary_key=True),
    Column("photos", Text, nullable=False),  # JSON list of photo ids
    Column("code_hash", String(64)),
    Column("created_at", DateTime, nullable=False),
)

TABLES = (web_sessions, photos, open311_requests, public_reports)
