"""What each workflow command changes besides the state: stage clocks, requests, counters.

Each command's effect is named in its `CommandSpec` (ticketing/domain/workflow.py) and called only by `apply`
after the table, the roles and the parameter-free preconditions have allowed the command; each effect
returns the changed case and the event payload.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from core.errors import InvalidParameters, PreconditionFailed
from ticketing.domain.calendar import Limit, LimitUnit
from ticketing.domain.commands import Command, Policy
from ticketing.domain.model import CaseFlow, CaseRequest, RequestKind, RequestState, Stage, StageClock

Result = tuple[CaseFlow, dict[str, Any]]
Effect = Callable[[CaseFlow, Command, datetime, Policy], Result]


def _start(case: CaseFlow, stage: Stage, limit: Limit, now: datetime, policy: Policy) -> CaseFlow:
    cal = policy.calendar
    clock = StageClock(stage, now, cal.deadline(now, limit), cal.deadline(now, limit, policy.yellow_fraction),
                       limit)
    return replace(case, stages=(*case.stages, clock))


def _finish(case: CaseFlow, now: datetime, *stages: Stage) -> CaseFlow:
    """Finish the open clocks of the given stages (all open clocks if none is named)."""
    done = tuple(
        replace(c, finished_at=now) if c.open and (not stages or c.stage in stages) else c for c in case.stages)
    return replace(case, stages=done)


def _next_stage(case: CaseFlow, now: datetime, policy: Policy, done: Stage, nxt: Stage) -> CaseFlow:
    return _start(_finish(case, now, done), nxt, policy.stage_limits[nxt], now, policy)


def _new_request(case: CaseFlow, kind: RequestKind, cmd: Command, now: datetime,
                 payload: dict[str, Any] | None = None) -> CaseFlow:
    request = CaseRequest(kind, cmd.actor.username, now, reason=cmd.reason, payload=payload or {})
    return replace(case, requests=(*case.requests, request))


def _decide(case: CaseFlow, kind: RequestKind, cmd: Command, now: datetime, state: RequestState,
            payload: dict[str, Any] | None = None) -> CaseFlow:
    pending = case.pending(kind)
    assert pending is not None  # guaranteed by _check_preconditions
    decided = replace(pending, state=state, decided_by=cmd.actor.username, decided_at=now,
                      decision_reason=cmd.reason, payload={**pending.payload, **(payload or {})})
    return replace(case, requests=tuple(decided if r is pending else r for r in case.requests))


def _text(cmd: Command, key: str, *, required: bool, max_len: int = 4000) -> str | None:
    value = cmd.params.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidParameters(f"缺少参数 {key}")
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise InvalidParameters(f"参数 {key} 应为不超过 {max_len} 字的文本")
    return value.strip()


def accept(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    return _next_stage(case, now, p, Stage.ACCEPTANCE, Stage.REGISTRATION), {}


def register(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    return _next_stage(case, now, p, Stage.REGISTRATION, Stage.DISPATCHING), {}


def dispatch(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    department = cmd.params.get("department")
    if not isinstance(department, str) or not department:
        raise InvalidParameters("派遣须指定唯一的责任部门（department）")
    if department not in p.departments:
        raise InvalidParameters(f"未知部门：{department}")
    moved = _start(_finish(case, now, Stage.DISPATCHING), Stage.HANDLING, p.handling_limit, now, p)
    clock = moved.open_stage(Stage.HANDLING)
    assert clock is not None
    payload = {"department": department, "due_at": clock.due_at.isoformat(), "limit": clock.limit.describe()}
    return replace(moved, department_code=department, check_result=None), payload


def make_request(kind: RequestKind) -> Effect:
    def effect(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
        payload: dict[str, Any] = {}
        if kind is RequestKind.EXTENSION:
            payload = {"extension": _extension(cmd).describe(), **_extension_params(cmd)}
        return _new_request(case, kind, cmd, now, payload), {"request": kind.value, **payload}
    return effect


def make_refusal(kind: RequestKind) -> Effect:
    def effect(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
        return _decide(case, kind, cmd, now, RequestState.REFUSED), {"request": kind.value}
    return effect


def _extension_params(cmd: Command) -> dict[str, Any]:
    return {"value": cmd.params.get("value"), "unit": cmd.params.get("unit")}


def _extension(cmd: Command) -> Limit:
    value, unit = cmd.params.get("value"), cmd.params.get("unit")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1000:
        raise InvalidParameters("延期时长 value 应为 0 到 1000 之间的数")
    try:
        return Limit(float(value), LimitUnit(unit))
    except ValueError as exc:
        raise InvalidParameters(f"未知时限单位：{unit}") from exc


def approve_extension(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    pending = case.pending(RequestKind.EXTENSION)
    assert pending is not None
    extra = Limit(float(pending.payload["value"]), LimitUnit(pending.payload["unit"]))
    clock = case.open_stage(Stage.HANDLING)
    if clock is None:
        raise PreconditionFailed("没有进行中的处置时限")
    cal = p.calendar
    total = cal.limit_minutes(clock.limit) + cal.limit_minutes(extra)
    working = clock.limit.unit.on_working_time
    if working != extra.unit.on_working_time:  # convert the extension into the clock's kind of time
        total = cal.limit_minutes(clock.limit) + cal.limit_minutes(extra) * (
            cal.day_minutes / (24 * 60) if working else (24 * 60) / cal.day_minutes)
    unit = LimitUnit.WORKING_HOURS if working else LimitUnit.CALENDAR_HOURS
    new_limit = Limit(round(total / 60, 4), unit)
    extended = replace(clock, limit=new_limit, due_at=cal.deadline(clock.started_at, new_limit),
                       yellow_at=cal.deadline(clock.started_at, new_limit, p.yellow_fraction))
    case = _replace_clock(case, clock, extended)
    case = _decide(case, RequestKind.EXTENSION, cmd, now, RequestState.APPROVED)
    case = replace(case, extension_count=case.extension_count + 1)
    return case, {"request": "extension", "due_at": extended.due_at.isoformat(), "extension": extra.describe()}


def _replace_clock(case: CaseFlow, old: StageClock, new: StageClock) -> CaseFlow:
    return replace(case, stages=tuple(new if c is old else c for c in case.stages))


def approve_return(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    case = _decide(case, RequestKind.RETURN, cmd, now, RequestState.APPROVED)
    previous = case.department_code
    case = _start(_finish(case, now, Stage.HANDLING), Stage.DISPATCHING, p.stage_limits[Stage.DISPATCHING],
                  now, p)
    return replace(case, department_code=None), {"request": "return", "returned_by": previous}


def approve_backlog(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    clock = case.open_stage(Stage.HANDLING)
    case = _decide(case, RequestKind.BACKLOG, cmd, now, RequestState.APPROVED)
    if clock is not None:
        case = _replace_clock(case, clock, replace(clock, paused_at=now))
    return case, {"request": "backlog"}


def resume(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    clock = case.open_stage(Stage.HANDLING)
    if clock is None or clock.paused_at is None:
        return case, {}
    # The clock stood still while the case was backlogged: shift both marks by the time spent there.
    working = clock.limit.unit.on_working_time
    paused = p.calendar.between(clock.paused_at, now, working=working)
    shifted = replace(clock, paused_at=None,
                      due_at=p.calendar.add(clock.due_at, paused, working=working),
                      yellow_at=p.calendar.add(clock.yellow_at, paused, working=working))
    return _replace_clock(case, clock, shifted), {"due_at": shifted.due_at.isoformat()}


def submit_result(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    notes = _text(cmd, "notes", required=True)
    photos = cmd.params.get("photos", [])
    if not isinstance(photos, list) or not all(isinstance(x, str) for x in photos) or len(photos) > 20:
        raise InvalidParameters("photos 应为不超过 20 个照片编号的列表")
    case = _next_stage(case, now, p, Stage.HANDLING, Stage.CHECKING)
    return replace(case, check_result=None), {"notes": notes, "photos": photos}


def _assignment(cmd: Command) -> dict[str, Any]:
    """Who a 核实/核查 task goes to: the service puts the duty grid's inspector (or None: the pool) here."""
    assignee = cmd.params.get("assignee")
    if assignee is not None and (not isinstance(assignee, str) or not 0 < len(assignee) <= 64):
        raise InvalidParameters("监督员 assignee 应为用户名")
    grid = cmd.params.get("duty_grid")
    return {"assignee": assignee, "duty_grid": grid if isinstance(grid, str) else None}


def inspection_task(case: CaseFlow) -> CaseRequest | None:
    """The pending 核实 or 核查 task of a case, if any."""
    return case.pending(RequestKind.VERIFICATION) or case.pending(RequestKind.CHECK)


def _site(cmd: Command, required: bool, label: str) -> dict[str, Any]:
    """Photos and the GPS fix of an on-site answer. `site` (position, distance to the case, far flag) is
    computed by the service from the inspector's fix; photos are ids of stored uploads."""
    photos = cmd.params.get("photos", [])
    if not isinstance(photos, list) or not all(isinstance(x, str) for x in photos) or len(photos) > 20:
        raise InvalidParameters("photos 应为不超过 20 个照片编号的列表")
    if required and not photos:
        raise InvalidParameters(f"{label}须上传至少一张现场照片")
    out: dict[str, Any] = {"photos": photos}
    site = cmd.params.get("site")
    if isinstance(site, dict):
        out["site"] = site
    return out


def request_check(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    assignment = _assignment(cmd)
    return _new_request(case, RequestKind.CHECK, cmd, now, assignment), {"request": "check", **assignment}


def reassign_inspector(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    task = inspection_task(case)
    assert task is not None  # guaranteed by _check_preconditions
    inspector = _text(cmd, "inspector", required=True, max_len=64)
    if inspector == task.payload.get("assignee"):
        raise PreconditionFailed(f"任务已派给监督员 {inspector}")
    moved = replace(task, payload={**task.payload, "assignee": inspector,
                                   "previous_assignee": task.payload.get("assignee")})
    case = replace(case, requests=tuple(moved if r is task else r for r in case.requests))
    return case, {"request": task.kind.value, "inspector": inspector, "previous": task.payload.get("assignee")}


def _close_check(case: CaseFlow, cmd: Command, now: datetime) -> CaseFlow:
    if case.pending(RequestKind.CHECK) is not None:
        return _decide(case, RequestKind.CHECK, cmd, now, RequestState.DONE)
    return case


def check_pass(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    if case.check_result == "passed":
        raise PreconditionFailed("已核查通过，等待结案")
    site = _site(cmd, p.check_photos_required, "核查")
    case = _next_stage(_close_check(case, cmd, now), now, p, Stage.CHECKING, Stage.CLOSING)
    return replace(case, check_result="passed"), {"notes": _text(cmd, "notes", required=False), **site}


def check_fail(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    site = _site(cmd, p.check_photos_required, "核查")
    case = _close_check(case, cmd, now)
    case = _start(_finish(case, now), Stage.HANDLING, p.rework_limit, now, p)
    return (replace(case, check_result=None, rework_count=case.rework_count + 1),
            {"rework": case.rework_count + 1, **site})


def request_verification(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    assignment = _assignment(cmd)
    case = _new_request(case, RequestKind.VERIFICATION, cmd, now, assignment)
    limit = p.stage_limits.get(Stage.VERIFYING)
    if limit is not None:  # the 核实 stage's own clock (light, 督办) runs beside 立案
        case = _start(case, Stage.VERIFYING, limit, now, p)
    return replace(case, verification="pending"), {"request": "verification", **assignment}


def report_verified(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    confirmed = cmd.params.get("confirmed")
    if not isinstance(confirmed, bool):
        raise InvalidParameters("核实结果 confirmed 应为 true 或 false")
    site = _site(cmd, p.verification_photos_required, "核实")
    result = "confirmed" if confirmed else "rejected"
    case = _decide(case, RequestKind.VERIFICATION, cmd, now, RequestState.DONE, {"result": result})
    case = _finish(case, now, Stage.VERIFYING)
    return (replace(case, verification=result),
            {"result": result, "notes": _text(cmd, "notes", required=False), **site})


def invalidate(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    return _finish(case, now), {}


def approve_invalidation(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    case = _decide(case, RequestKind.INVALIDATION, cmd, now, RequestState.APPROVED)
    return _finish(case, now), {"request": "invalidation"}


def merge(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    other = _text(cmd, "merged_into", required=True, max_len=32)
    if other == case.case_no:
        raise InvalidParameters("不能与自身合并")
    return replace(_finish(case, now), merged_into=other), {"merged_into": other}


def close(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    return replace(_finish(case, now), closed_at=now), {}


def rate(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    value = cmd.params.get("satisfaction")
    if value not in (1, 2, 3) or isinstance(value, bool):
        raise InvalidParameters("满意度 satisfaction 应为 1（满意）、2（基本满意）或 3（不满意）")
    return replace(case, satisfaction=value), {"satisfaction": value}


def reopen(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    if case.closed_at is not None and now - case.closed_at > p.reopen_window:
        raise PreconditionFailed(f"结案已超过 {p.reopen_window.days} 天，不能重办，请新建案件")
    case = _start(case, Stage.HANDLING, p.handling_limit, now, p)
    case = replace(case, reopen_count=case.reopen_count + 1, check_result=None, closed_at=None)
    return case, {"department": case.department_code, "reopen": case.reopen_count}


def nothing(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    return case, {}



start_stage = _start  # the workflow starts the first clock of a new case with it
