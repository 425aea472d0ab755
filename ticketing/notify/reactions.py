"""What case events cause: an SMS to the citizen, a webhook to the department, a 回访 after closing.

Each reaction re-reads the case and enqueues with a unique key, so the bus subscriber and the catch-up sweep
(which replays recent history in case the process died between a commit and its bus event) may both run it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db.timeutil import from_db, to_db
from ticketing.db.tables import case_history, case_stages, cases
from ticketing.notify.domain.delivery import dedup_key
from ticketing.notify.domain.webhook_lifecycle import WebhookState
from ticketing.notify.outbox import OutboxMessage

SMS_EVENTS = {"CaseAccepted": "accepted", "CaseDispatched": "dispatched", "CaseClosed": "closed"}
WEBHOOK_EVENTS = frozenset({"CaseDispatched", "CaseReturned", "CaseExtended", "CaseExtensionRefused",
                            "CaseReopened"})
COMMAND_EVENTS = {"accept": "CaseAccepted", "dispatch": "CaseDispatched", "close": "CaseClosed",
                  "approve_return": "CaseReturned", "approve_extension": "CaseExtended",
                  "refuse_extension": "CaseExtensionRefused", "reopen": "CaseReopened"}


@dataclass(frozen=True)
class CaseFacts:
    """What the messages need from a case, read after the event."""

    case_no: str
    state: str
    category_code: str
    caller_phone: str | None
    department_code: str | None
    reopen_count: int
    address: str | None
    result: str | None
    handling_due: datetime | None


async def load_facts(conn: AsyncConnection, case_no: str) -> CaseFacts | None:
    row = (await conn.execute(select(cases).where(cases.c.case_no == case_no))).mappings().first()
    if row is None:
        return None
    notes = (await conn.execute(
        select(case_history.c.payload).where(case_history.c.case_id == row["id"],
                                             case_history.c.command == "submit_result")
        .order_by(case_history.c.id.desc()).limit(1))).scalar()
    due = (await conn.execute(
        select(case_stages.c.due_at).where(case_stages.c.case_id == row["id"], case_stages.c.stage == "handling")
        .order_by(case_stages.c.id.desc()).limit(1))).scalar()
    return CaseFacts(case_no, row["state"], row["category_code"], row["caller_phone"], row["department_code"],
                     row["reopen_count"] or 0, row["address"], (notes or {}).get("notes"), from_db(due))


def webhook_department(kind: str, data: Mapping[str, Any], facts: CaseFacts) -> str | None:
    """The department a webhook goes to: the one dispatched to, or the one that handed the case back."""
    return data.get("department") or data.get("returned_by") or facts.department_code


def webhook_row(kind: str, data: Mapping[str, Any], facts: CaseFacts, department: str, at: datetime,
                now: datetime) -> dict[str, Any]:
    payload = {"event": kind, "case_no": facts.case_no, "state": facts.state, "department": department,
               "at": at.isoformat(), "category_code": facts.category_code, "address": facts.address,
               "data": {k: v for k, v in data.items() if k not in {"case_no"}}}
    stamp = to_db(at)
    assert stamp is not None
    return {"dedup_key": f"{facts.case_no}:{kind}:{stamp.isoformat()}"[:200], "department_code": department,
            "case_no": facts.case_no, "event": kind, "payload": payload, "state": str(WebhookState.PENDING),
            "attempts": 0, "next_attempt_at": to_db(now), "created_at": to_db(now)}


def sms_message(event: str, facts: CaseFacts, body: str, now: datetime) -> OutboxMessage | None:
    if not facts.caller_phone:
        return None
    return OutboxMessage(dedup_key(facts.case_no, event, facts.caller_phone), facts.case_no, event, "sms",
                         "citizen", facts.caller_phone, body, now)


async def recent_history(conn: AsyncConnection, since: datetime) -> list[dict[str, Any]]:
    """History rows of the commands the loop reacts to since `since`, oldest first, as bus-like events."""
    rows = await conn.execute(
        select(case_history.c.at, case_history.c.command, case_history.c.actor, case_history.c.payload,
               case_history.c.from_state, case_history.c.to_state, cases.c.case_no)
        .join(cases, cases.c.id == case_history.c.case_id)
        .where(case_history.c.at >= to_db(since), case_history.c.command.in_(list(COMMAND_EVENTS)))
        .order_by(case_history.c.id))
    return [{"kind": COMMAND_EVENTS[r["command"]], "at": from_db(r["at"]),
             "data": {**(r["payload"] or {}), "case_no": r["case_no"], "from_state": r["from_state"],
                      "to_state": r["to_state"], "actor": r["actor"]}} for r in rows.mappings()]
