"""Upward export: cases and their events since the last run, as JSON lines and CSV, by a profile as data.

Incremental by change time: a case is exported again whenever it changed (its `updated_at`), an event once
(its history id). The cursors (`exchange_cursors`: `export:<name>:cases` = "<updated_at>|<id>",
`export:<name>:events` = "<history id>") move after each batch's files are written, and each batch's file is
named after the cursor it starts from, so a run stopped at any point is resumed by the next run, which
rewrites an unfinished batch's file whole instead of appending to it.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db.timeutil import from_db
from ticketing.db.tables import case_history, cases
from ticketing.domain.workflow import COMMAND_LABELS
from ticketing.exchange.domain.profile import Answer, Signing
from ticketing.exchange.links import PROFILE_DIR
from ticketing.exchange.pull import read_cursor, write_cursor
from ticketing.reference import ReferenceData

STAGE_COMMANDS = {
    "accept": "accepted_at",
    "register": "registered_at",
    "dispatch": "dispatched_at",
    "submit_result": "handled_at",
    "close": "closed_at",
}


class UploadTarget(BaseModel):
    """Where and how an `http` export uploads its batches (ticketing/exchange/upload.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    endpoint: str  # the platform's base URL (a site's settings may override it: exchange.exports.<n>.endpoint)
    paths: dict[Literal["cases", "events"], str] = {"cases": "/cases", "events": "/events"}
    fields: dict[Literal["batch_id", "stream", "count", "records", "sent_at", "unit_code"], str] = {
        "batch_id": "batchId", "stream": "stream", "count": "count", "records": "records", "sent_at": "sendTime",
        "unit_code": "unitCode"}
    unit_code: str = ""
    signing: Signing = Signing()
    answer: Answer = Answer()
    timeout_s: float = Field(30.0, gt=0, le=600)
    retry_base_s: float = Field(60.0, gt=0)
    retry_max_s: float = Field(3600.0, gt=0)


class ExportProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")
    label: str
    kind: Literal["file", "http"] = "file"  # file: JSONL/CSV files; http: batches uploaded to `upload`
    formats: tuple[str, ...] = ("jsonl", "csv")
    batch_size: int = Field(500, ge=1, le=100000)
    cases: dict[str, str]  # external field -> canonical value
    events: dict[str, str]
    upload: UploadTarget | None = None

    @model_validator(mode="after")
    def _target(self) -> ExportProfile:
        if self.kind == "http" and self.upload is None:
            raise ValueError("an http export needs `upload` (endpoint, paths, signing)")
        return self


def load_export_profile(name: str) -> ExportProfile:
    path = Path(name) if name.endswith((".yaml", ".yml")) else PROFILE_DIR / f"export-{name}.yaml"
    return ExportProfile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@dataclass
class ExportReport:
    cases: int = 0
    events: int = 0
    files: list[str] = field(default_factory=list)


async def run_export(
    engine: AsyncEngine,
    reference: ReferenceData,
    profile: ExportProfile,
    folder: Path,
    now: datetime,
    *,
    max_batches: int | None = None,
) -> ExportReport:
    """Export what changed since the cursors; `max_batches` stops early (a run cut short, for tests)."""
    report = ExportReport()
    folder.mkdir(parents=True, exist_ok=True)
    batches = 0
    while max_batches is None or batches < max_batches:
        if not await _case_batch(engine, reference, profile, folder, now, report):
            break
        batches += 1
    while max_batches is None or batches < max_batches:
        if not await _event_batch(engine, profile, folder, now, report):
            break
        batches += 1
    return report


async def read_cases(
    engine: AsyncEngine, reference: ReferenceData, cursor: str, limit: int
) -> tuple[list[dict[str, Any]], str]:
    """Canonical case records changed after `cursor` ("<updated_at>|<id>"), oldest first, and the cursor
    after them ([] and the same cursor when nothing changed)."""
    stamp, last_id = _case_cursor(cursor)
    c = cases.c
    stmt = select(cases).order_by(c.updated_at, c.id).limit(limit)
    if stamp is not None:
        stmt = stmt.where(or_(c.updated_at > stamp, and_(c.updated_at == stamp, c.id > last_id)))
    async with engine.connect() as conn:
        rows = (await conn.execute(stmt)).mappings().all()
        if not rows:
            return [], cursor
        stages = await _stage_times(conn, [r["id"] for r in rows])
    records = [_case_record(r, reference, stages.get(r["id"], {})) for r in rows]
    last = rows[-1]
    return records, f"{last['updated_at'].isoformat()}|{last['id']}"


async def read_events(engine: AsyncEngine, cursor: str, limit: int) -> tuple[list[dict[str, Any]], str]:
    """Canonical event records after `cursor` (a history id), in order, and the cursor after them."""
    h = case_history.c
    stmt = (
        select(h.id, h.command, h.from_state, h.to_state, h.at, h.actor_role, cases.c.case_no)
        .join(cases, cases.c.id == h.case_id)
        .where(h.id > int(cursor or 0))
        .order_by(h.id)
        .limit(limit)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(stmt)).mappings().all()
    if not rows:
        return [], cursor
    records = [
        {
            "case_no": r["case_no"],
            "event_id": r["id"],
            "command": r["command"],
            "command_label": COMMAND_LABELS.get(r["command"], "上报"),
            "from_state": r["from_state"],
            "to_state": r["to_state"],
            "at": _iso(r["at"]),
            "actor_role": r["actor_role"],
        }
        for r in rows
    ]
    return records, str(rows[-1]["id"])


def batch_stem(stream: str, cursor: str) -> str:
    """A batch's name from the cursor it starts at: sorts in export order, the same on a re-run."""
    if stream == "events":
        return f"events-{int(cursor or 0):012d}"
    stamp, last_id = _case_cursor(cursor)
    return f"cases-{_stem(stamp, last_id)}"


def mapped(names: Mapping[str, str], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records in the platform's field names (external field -> canonical value)."""
    return [{external: record.get(canonical) for external, canonical in names.items()} for record in records]


async def _case_batch(
    engine: AsyncEngine,
    reference: ReferenceData,
    profile: ExportProfile,
    folder: Path,
    now: datetime,
    report: ExportReport,
) -> bool:
    name = f"export:{profile.name}:cases"
    cursor = await read_cursor(engine, name)
    records, after = await read_cases(engine, reference, cursor, profile.batch_size)
    if not records:
        return False
    _write(folder, batch_stem("cases", cursor), profile, profile.cases, records, report)
    await write_cursor(engine, name, after, now)
    report.cases += len(records)
    return True


async def _event_batch(
    engine: AsyncEngine, profile: ExportProfile, folder: Path, now: datetime, report: ExportReport
) -> bool:
    name = f"export:{profile.name}:events"
    cursor = await read_cursor(engine, name)
    records, after = await read_events(engine, cursor, profile.batch_size)
    if not records:
        return False
    _write(folder, batch_stem("events", cursor), profile, profile.events, records, report)
    await write_cursor(engine, name, after, now)
    report.events += len(records)
    return True


def _case_cursor(cursor: str) -> tuple[datetime | None, int]:
    if not cursor:
        return None, 0
    stamp, _, last = cursor.partition("|")
    return datetime.fromisoformat(stamp), int(last)


async def _stage_times(conn: Any, ids: Sequence[int]) -> dict[int, dict[str, str | None]]:
    rows = await conn.execute(
        select(case_history.c.case_id, case_history.c.command, case_history.c.at)
        .where(case_history.c.case_id.in_(ids), case_history.c.command.in_(list(STAGE_COMMANDS)))
        .order_by(case_history.c.id)
    )
    found: dict[int, dict[str, str | None]] = {}
    for row in rows:  # the latest time of each step (a reopened case was dispatched again)
        found.setdefault(row.case_id, {})[STAGE_COMMANDS[row.command]] = _iso(row.at)
    return found


def _case_record(row: Mapping[str, Any], reference: ReferenceData, stages: Mapping[str, Any]) -> dict[str, Any]:
    category = reference.categories.get(row["category_code"])
    return {
        "case_no": row["case_no"],
        "source": row["source"],
        "kind": category.kind if category else None,
        "major_code": category.major_code if category else None,
        "category_code": row["category_code"],
        "category_name": category.name if category else None,
        "description": row["description"],
        "address": row["address"],
        "lat": row["lat"],
        "lon": row["lon"],
        "crs": "WGS84",
        "cell_code": row["cell_code"],
        "community_code": row["community_code"],
        "street_code": row["street_code"],
        "department_code": row["department_code"],
        "state": row["state"],
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "satisfaction": row["satisfaction"],
        "external_id": row["external_id"],
        **{k: stages.get(k) for k in STAGE_COMMANDS.values()},
    }


def _iso(value: datetime | None) -> str | None:
    stamp = from_db(value)
    return None if stamp is None else stamp.isoformat(timespec="seconds")


def _stem(stamp: datetime | None, last_id: int) -> str:
    """A batch's file name from the cursor it starts at: sorts in export order, the same on a re-run."""
    return f"{stamp:%Y%m%dT%H%M%S%f}-{last_id:010d}" if stamp else f"{'0' * 21}-{0:010d}"


def _write(
    folder: Path,
    stem: str,
    profile: ExportProfile,
    names: Mapping[str, str],
    records: list[dict[str, Any]],
    report: ExportReport,
) -> None:
    rows = mapped(names, records)
    for fmt in profile.formats:
        path = folder / f"{stem}.{fmt}"
        if fmt == "jsonl":
            text = "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in rows)
        else:
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=list(names))
            writer.writeheader()
            writer.writerows(rows)
            text = buffer.getvalue()
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)  # a batch's file appears whole or not at all
        report.files.append(path.name)
