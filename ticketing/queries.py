"""Read side: one case as a view for people and APIs, and filtered, paginated case lists."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db.timeutil import from_db, to_db
from core.errors import InvalidParameters, NotFound
from core.privacy import normalize_phone, phone_for
from ticketing.calendar_source import coverage_warning
from ticketing.db.cases_repo import clock_from_row, flow_from_rows, request_from_row
from ticketing.db.tables import case_history, case_requests, case_stages, cases
from ticketing.domain.calendar import WorkCalendar
from ticketing.domain.model import Actor, CaseRequest, Light, Role, StageClock, State
from ticketing.domain.workflow import COMMAND_LABELS, available_commands
from ticketing.exchange.attachments import view as attachment_view
from ticketing.exchange.tables import exchange_attachments
from ticketing.reference import ReferenceData
from ticketing.services import Created


def iso(value: datetime | None, calendar: WorkCalendar) -> str | None:
    return None if value is None else value.astimezone(calendar.tz).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ViewContext:
    reference: ReferenceData
    calendar: WorkCalendar
    now: datetime


async def case_view(conn: AsyncConnection, case_no: str, actor: Actor, ctx: ViewContext) -> dict[str, Any]:
    """Everything about one case that this actor may see, with deadlines, lights and allowed actions."""
    row = (await conn.execute(select(cases).where(cases.c.case_no == case_no))).mappings().first()
    if row is None or (actor.role is Role.DEPARTMENT and not await _department_saw(conn, row["id"], actor, row)):
        raise NotFound(f"案件 {case_no} 不存在")
    case_id = row["id"]
    stages = (await conn.execute(select(case_stages).where(case_stages.c.case_id == case_id)
                                 .order_by(case_stages.c.id))).mappings().all()
    requests = (await conn.execute(select(case_requests).where(case_requests.c.case_id == case_id)
                                   .order_by(case_requests.c.id))).mappings().all()
    history = (await conn.execute(select(case_history).where(case_history.c.case_id == case_id)
                                  .order_by(case_history.c.id))).mappings().all()
    duplicates = (await conn.execute(select(cases.c.case_no).where(cases.c.merged_into == case_no)
                                     .order_by(cases.c.case_no))).scalars().all()
    flow = flow_from_rows(row, stages, requests)
    view = summary(row, actor, ctx)
    view["deadlines"] = [_clock_view(clock_from_row(s), ctx) for s in stages]
    view["requests"] = [_request_view(request_from_row(r), ctx) for r in requests]
    view["history"] = [_history_view(h, ctx) for h in history]
    view["duplicates"] = list(duplicates)  # cases merged into this one
    view["attachments"] = await _attachments(conn, case_no) if row["source"] == "12345" else []
    view["allowed_actions"] = [{"command": c, "label": COMMAND_LABELS[c]}
                               for c in available_commands(flow, actor)]
    warnings = {coverage_warning(ctx.calendar, c.started_at, c.due_at) for c in flow.stages}
    view["warnings"] = sorted(w for w in warnings if w)
    return view


async def _attachments(conn: AsyncConnection, case_no: str) -> list[dict[str, Any]]:
    """The attachments of the 12345 work order behind the case, with their fetch state (stored as photos)."""
    rows = (await conn.execute(select(exchange_attachments).where(exchange_attachments.c.case_no == case_no)
                               .order_by(exchange_attachments.c.seq))).mappings().all()
    return [attachment_view(r) for r in rows]


async def _department_saw(conn: AsyncConnection, case_id: int, actor: Actor, row: Mapping[str, Any]) -> bool:
    return await department_may_read(conn, case_id, actor.department_code, row["department_code"])


async def department_may_read(conn: AsyncConnection, case_id: int, department: str | None,
                              current: str | None) -> bool:
    """The one rule for a department and a case (its page, its photos): the case is or was dispatched to it."""
    if department is None:
        return False
    if current == department:
        return True
    # A department keeps read access to cases it once handled (returned or re-dispatched since).
    stmt = select(case_history.c.id).where(
        case_history.c.case_id == case_id, case_history.c.command == "dispatch",
        case_history.c.payload["department"].as_string() == department)
    return (await conn.execute(stmt.limit(1))).first() is not None


def created_view(created: Created, actor: Actor, ctx: ViewContext) -> dict[str, Any]:
    """The answer to a creation, from what the transaction produced (no second read)."""
    flow, fields = created.flow, created.fields
    suggested = fields["suggested_department"]
    return {
        "case_no": flow.case_no, "state": flow.state.value, "state_label": flow.state.label,
        "version": flow.version, "source": fields["source"],
        "category": {"code": created.category.code, "name": created.category.name,
                     "kind": created.category.kind_label},
        "address": fields["address"], "lat": fields["lat"], "lon": fields["lon"], "cell_code": fields["cell_code"],
        "suggested_department": ({"code": suggested, "name": ctx.reference.departments.get(suggested),
                                  "reason": fields["suggestion_reason"]} if suggested else None),
        "deadlines": [_clock_view(c, ctx) for c in flow.stages],
        "allowed_actions": [{"command": c, "label": COMMAND_LABELS[c]} for c in available_commands(flow, actor)],
        "created_at": iso(flow.created_at, ctx.calendar),
    }


def summary(row: Mapping[str, Any], actor: Actor, ctx: ViewContext) -> dict[str, Any]:
    category = ctx.reference.categories.get(row["category_code"])
    dept = row["department_code"]
    phone = phone_for(actor.role, row["caller_phone"])
    return {
        "case_no": row["case_no"], "state": row["state"], "state_label": State(row["state"]).label,
        "version": row["version"], "source": row["source"],
        "category": {"code": row["category_code"], "name": category.name if category else None,
                     "kind": category.kind_label if category else None},
        "description": row["description"], "caller_phone": phone, "caller_name": row["caller_name"],
        "address": row["address"], "lat": row["lat"], "lon": row["lon"], "cell_code": row["cell_code"],
        "community_code": row["community_code"], "street_code": row["street_code"],
        "component_id": row["component_id"],
        "department": {"code": dept, "name": ctx.reference.departments.get(dept)} if dept else None,
        "suggested_department": ({"code": row["suggested_department"],
                                  "name": ctx.reference.departments.get(row["suggested_department"]),
                                  "reason": row["suggestion_reason"]} if row["suggested_department"] else None),
        "rework_count": row["rework_count"], "reopen_count": row["reopen_count"],
        "extension_count": row["extension_count"], "verification": row["verification"],
        "check_result": row["check_result"], "satisfaction": row["satisfaction"],
        "merged_into": row["merged_into"], "external_id": row["external_id"],
        "created_by": row["created_by"],
        "created_at": iso(from_db(row["created_at"]), ctx.calendar),
        "updated_at": iso(from_db(row["updated_at"]), ctx.calendar),
        "closed_at": iso(from_db(row["closed_at"]), ctx.calendar),
    }


def _clock_view(clock: StageClock, ctx: ViewContext) -> dict[str, Any]:
    return {
        "stage": clock.stage.value, "label": clock.stage.label, "limit": clock.limit.describe(),
        "started_at": iso(clock.started_at, ctx.calendar), "due_at": iso(clock.due_at, ctx.calendar),
        "yellow_at": iso(clock.yellow_at, ctx.calendar), "finished_at": iso(clock.finished_at, ctx.calendar),
        "paused": clock.paused_at is not None, "light": clock.light(ctx.now).value,
    }


def _request_view(request: CaseRequest, ctx: ViewContext) -> dict[str, Any]:
    return {
        "id": request.id, "kind": request.kind.value, "label": request.kind.label, "state": request.state.value,
        "requested_by": request.requested_by, "requested_at": iso(request.requested_at, ctx.calendar),
        "reason": request.reason, "payload": request.payload, "decided_by": request.decided_by,
        "decided_at": iso(request.decided_at, ctx.calendar), "decision_reason": request.decision_reason,
    }


def _history_view(row: Mapping[str, Any], ctx: ViewContext) -> dict[str, Any]:
    return {
        "at": iso(from_db(row["at"]), ctx.calendar), "actor": row["actor"], "role": row["actor_role"],
        "command": row["command"], "label": COMMAND_LABELS.get(row["command"], "登记"),
        "from_state": row["from_state"], "to_state": row["to_state"], "reason": row["reason"],
        "payload": row["payload"],
    }


@dataclass(frozen=True)
class CaseFilter:
    state: tuple[str, ...] = ()
    category: str | None = None
    department: str | None = None
    light: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    text: str | None = None
    phone: str | None = None
    page: int = 1
    per_page: int = 20


async def list_cases(conn: AsyncConnection, flt: CaseFilter, actor: Actor, ctx: ViewContext) -> dict[str, Any]:
    conditions = _conditions(flt, actor, ctx.now)
    total = (await conn.execute(select(func.count()).select_from(cases).where(*conditions))).scalar_one()
    rows = (await conn.execute(
        select(cases).where(*conditions).order_by(cases.c.created_at.desc(), cases.c.id.desc())
        .limit(flt.per_page).offset((flt.page - 1) * flt.per_page))).mappings().all()
    lights = await _lights(conn, [r["id"] for r in rows], ctx.now)
    items = [{**summary(r, actor, ctx), "light": lights.get(r["id"])} for r in rows]
    return {"items": items, "page": flt.page, "per_page": flt.per_page, "total": total}


def _conditions(flt: CaseFilter, actor: Actor, now: datetime) -> list[Any]:
    c = cases.c
    conditions: list[Any] = []
    if actor.role is Role.DEPARTMENT:
        conditions.append(c.department_code == actor.department_code)
    if flt.state:
        bad = [s for s in flt.state if s not in {x.value for x in State}]
        if bad:
            raise InvalidParameters(f"未知状态：{'、'.join(bad)}")
        conditions.append(c.state.in_(flt.state))
    if flt.category:
        conditions.append(c.category_code.startswith(flt.category) if len(flt.category) < 5
                          else c.category_code == flt.category)
    if flt.department:
        conditions.append(c.department_code == flt.department)
    if flt.created_from:
        conditions.append(c.created_at >= to_db(flt.created_from))
    if flt.created_to:
        conditions.append(c.created_at < to_db(flt.created_to))
    if flt.text:
        pattern = f"%{flt.text}%"
        conditions.append(or_(c.description.like(pattern), c.address.like(pattern), c.case_no.like(pattern),
                              c.external_id.like(pattern)))
    if flt.phone:
        # Exact match on the normalised number: a suffix match would let anyone recover a masked number digit
        # by digit. Who may filter by number at all is decided by the API (core/privacy.py).
        conditions.append(c.caller_phone.in_({flt.phone, normalize_phone(flt.phone)}))
    if flt.light:
        conditions.append(_light_condition(flt.light, now))
    return conditions


def _light_condition(light: str, now: datetime) -> Any:
    if light not in {x.value for x in Light}:
        raise InvalidParameters("light 应为 green、yellow 或 red")
    s = case_stages.c
    at = to_db(now)
    open_clock = and_(s.case_id == cases.c.id, s.finished_at.is_(None), s.paused_at.is_(None))
    red = exists().where(open_clock, s.due_at < at)
    yellow = exists().where(open_clock, s.due_at >= at, s.yellow_at <= at)
    if light == "red":
        return red
    if light == "yellow":
        return and_(yellow, ~red)
    return and_(~yellow, ~red)


async def _lights(conn: AsyncConnection, ids: list[int], now: datetime) -> dict[int, str]:
    """The worst light of each case's open clocks (None for cases with no running clock)."""
    if not ids:
        return {}
    rows = (await conn.execute(select(case_stages).where(
        case_stages.c.case_id.in_(ids), case_stages.c.finished_at.is_(None)))).mappings().all()
    order = {Light.GREEN: 0, Light.YELLOW: 1, Light.RED: 2}
    worst: dict[int, Light] = {}
    for row in rows:
        light = clock_from_row(row).light(now)
        if row["case_id"] not in worst or order[light] > order[worst[row["case_id"]]]:
            worst[row["case_id"]] = light
    return {k: v.value for k, v in worst.items()}
