"""The deadline sweep: set-based light changes on open stage clocks, 督办 at thresholds, escalation at red.

Every statement is idempotent: lights change only where the recorded light differs from the computed one,
alerts and urges carry unique keys (stage, light/level, due time), and urge messages are keyed by urge id.
An extension that moves a due time makes a new key, so the next red is recorded and urged again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, case, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.db.engine import write_transaction
from core.db.timeutil import from_db, to_db
from ticketing.db.tables import case_stages, cases
from ticketing.notify.domain.deadlines import LEVEL_ESCALATION, Threshold, parse_threshold, urge_text
from ticketing.notify.outbox import OutboxMessage, enqueue_many
from ticketing.notify.settings import NotifySettings
from ticketing.notify.sql import insert_ignore
from ticketing.notify.tables import deadline_alerts, urges

S = case_stages


@dataclass(frozen=True)
class SweepReport:
    lights_changed: int
    urges: int


def _open() -> object:
    return and_(S.c.finished_at.is_(None), S.c.paused_at.is_(None))


async def sweep_deadlines(engine: AsyncEngine, cfg: NotifySettings, now: datetime, tz: ZoneInfo) -> SweepReport:
    """Store light changes, 督办 and escalations due at `now`, in one transaction. Safe to run again."""
    db_now = to_db(now)
    assert db_now is not None
    async with write_transaction(engine) as conn:
        changed = await _store_lights(conn, db_now)
        rows = []
        for threshold in (parse_threshold(t) for t in cfg.reminders):
            rows += await _urge_departments(conn, threshold, db_now)
        if cfg.escalate_at_red:
            rows += await _escalate(conn, db_now)
        await enqueue_many(conn, [_urge_message(row, tz, now) for row in rows])
    return SweepReport(changed, len(rows))


async def _store_lights(conn: AsyncConnection, now: datetime) -> int:
    target = case((S.c.due_at < now, "red"), (S.c.yellow_at <= now, "yellow"), else_="green")
    differs = and_(_open(), S.c.light != target)
    chosen = select(S.c.id, S.c.case_id, S.c.stage, target, S.c.due_at, literal(now, S.c.due_at.type)).where(differs)
    stmt = insert_ignore(conn, deadline_alerts).from_select(
        ["stage_id", "case_id", "stage", "light", "due_at", "at"], chosen).on_conflict_do_nothing()
    await conn.execute(stmt)
    result = await conn.execute(update(S).where(differs).values(light=target))
    return int(result.rowcount or 0)


async def _urge_departments(conn: AsyncConnection, threshold: Threshold, now: datetime) -> list[dict]:
    mark = S.c.yellow_at if threshold.mark == "yellow" else S.c.due_at
    cutoff = threshold.cutoff(now)
    chosen = (select(S.c.id, S.c.case_id, cases.c.case_no, literal(threshold.name, String), literal("department"),
                     cases.c.department_code, S.c.due_at, literal(now, S.c.due_at.type))
              .select_from(S.join(cases, cases.c.id == S.c.case_id))
              .where(_open(), S.c.stage == "handling", cases.c.state == "dispatched",
                     cases.c.department_code.is_not(None), mark <= cutoff))
    return await _insert_urges(conn, chosen)


async def _escalate(conn: AsyncConnection, now: datetime) -> list[dict]:
    chosen = (select(S.c.id, S.c.case_id, cases.c.case_no, literal(LEVEL_ESCALATION, String), literal("lead"),
                     literal("lead"), S.c.due_at, literal(now, S.c.due_at.type))
              .select_from(S.join(cases, cases.c.id == S.c.case_id))
              .where(_open(), S.c.due_at < now))
    return await _insert_urges(conn, chosen)


async def _insert_urges(conn: AsyncConnection, chosen: object) -> list[dict]:
    columns = ["stage_id", "case_id", "case_no", "level", "target_kind", "target", "due_at", "at"]
    stmt = (insert_ignore(conn, urges).from_select(columns, chosen).on_conflict_do_nothing()
            .returning(urges.c.id, urges.c.case_no, urges.c.level, urges.c.target_kind, urges.c.target,
                       urges.c.due_at))
    return [dict(r) for r in (await conn.execute(stmt)).mappings().all()]


def _urge_message(row: dict, tz: ZoneInfo, now: datetime) -> OutboxMessage:
    due = from_db(row["due_at"])
    assert due is not None
    text = urge_text(row["level"], row["case_no"], due.astimezone(tz).strftime("%m月%d日%H:%M"))
    return OutboxMessage(dedup_key=f"urge:{row['id']}", case_no=row["case_no"], event=f"urge:{row['level']}",
                         channel="internal", recipient_kind=row["target_kind"], recipient=row["target"],
                         body=text, now=now)
