"""The case workflow (CJ/T 315 / GB/T 30428.8) as one transition table.

`apply(case, command, now, policy)` is pure: it returns the new case, the events and the history entry, or
raises a DomainError and changes nothing (in the style of h11's _state.py). Deadlines are stamped here from
the policy's working calendar; the service layer persists the result in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ticketing.domain.calendar import Limit, LimitUnit, WorkCalendar
from ticketing.domain.errors import (
    Forbidden,
    IllegalCommand,
    InvalidParameters,
    PreconditionFailed,
    StaleVersion,
)
from ticketing.domain.model import (
    Actor,
    CaseFlow,
    CaseRequest,
    RequestKind,
    RequestState,
    Role,
    Stage,
    StageClock,
    State,
)

S, R = State, Role

# (state, command) -> next state. A command absent for a state is illegal there. This table is the single
# source of truth: docs/workflow.md is generated from it and the tests walk it.
TRANSITIONS: dict[tuple[State, str], State] = {
    (S.REPORTED, "accept"): S.ACCEPTED,
    (S.REPORTED, "merge"): S.INVALID,
    (S.REPORTED, "invalidate"): S.INVALID,
    (S.REPORTED, "request_invalidation"): S.REPORTED,
    (S.REPORTED, "approve_invalidation"): S.INVALID,
    (S.REPORTED, "refuse_invalidation"): S.REPORTED,
    (S.ACCEPTED, "request_verification"): S.ACCEPTED,
    (S.ACCEPTED, "report_verified"): S.ACCEPTED,
    (S.ACCEPTED, "register"): S.REGISTERED,
    (S.ACCEPTED, "merge"): S.INVALID,
    (S.ACCEPTED, "invalidate"): S.INVALID,
    (S.ACCEPTED, "request_invalidation"): S.ACCEPTED,
    (S.ACCEPTED, "approve_invalidation"): S.INVALID,
    (S.ACCEPTED, "refuse_invalidation"): S.ACCEPTED,
    (S.REGISTERED, "dispatch"): S.DISPATCHED,
    (S.REGISTERED, "merge"): S.INVALID,
    (S.REGISTERED, "invalidate"): S.INVALID,
    (S.DISPATCHED, "acknowledge"): S.DISPATCHED,
    (S.DISPATCHED, "request_return"): S.DISPATCHED,
    (S.DISPATCHED, "approve_return"): S.REGISTERED,
    (S.DISPATCHED, "refuse_return"): S.DISPATCHED,
    (S.DISPATCHED, "request_extension"): S.DISPATCHED,
    (S.DISPATCHED, "approve_extension"): S.DISPATCHED,
    (S.DISPATCHED, "refuse_extension"): S.DISPATCHED,
    (S.DISPATCHED, "request_backlog"): S.DISPATCHED,
    (S.DISPATCHED, "approve_backlog"): S.BACKLOG,
    (S.DISPATCHED, "refuse_backlog"): S.DISPATCHED,
    (S.DISPATCHED, "submit_result"): S.HANDLED,
    (S.BACKLOG, "resume"): S.DISPATCHED,
    (S.HANDLED, "request_check"): S.HANDLED,
    (S.HANDLED, "check_pass"): S.HANDLED,
    (S.HANDLED, "check_fail"): S.DISPATCHED,
    (S.HANDLED, "close"): S.CLOSED,
    (S.CLOSED, "rate"): S.CLOSED,
    (S.CLOSED, "reopen"): S.DISPATCHED,
}

# Who may issue each command (CJ/T 315 roles). Department users additionally only for their own department.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "accept": frozenset({R.AGENT, R.LEAD}),
    "merge": frozenset({R.AGENT, R.LEAD}),
    "invalidate": frozenset({R.LEAD}),
    "request_invalidation": frozenset({R.AGENT, R.DISPATCHER}),
    "approve_invalidation": frozenset({R.LEAD}),
    "refuse_invalidation": frozenset({R.LEAD}),
    "request_verification": frozenset({R.AGENT}),
    "report_verified": frozenset({R.INSPECTOR}),
    "register": frozenset({R.LEAD}),
    "dispatch": frozenset({R.DISPATCHER}),
    "acknowledge": frozenset({R.DEPARTMENT}),
    "request_return": frozenset({R.DEPARTMENT}),
    "approve_return": frozenset({R.DISPATCHER}),
    "refuse_return": frozenset({R.DISPATCHER}),
    "request_extension": frozenset({R.DEPARTMENT}),
    "approve_extension": frozenset({R.DISPATCHER, R.LEAD}),
    "refuse_extension": frozenset({R.DISPATCHER, R.LEAD}),
    "request_backlog": frozenset({R.DEPARTMENT}),
    "approve_backlog": frozenset({R.DISPATCHER}),
    "refuse_backlog": frozenset({R.DISPATCHER}),
    "resume": frozenset({R.DISPATCHER, R.LEAD}),
    "submit_result": frozenset({R.DEPARTMENT}),
    "request_check": frozenset({R.AGENT}),
    "check_pass": frozenset({R.INSPECTOR}),
    "check_fail": frozenset({R.INSPECTOR}),
    "close": frozenset({R.LEAD}),
    "rate": frozenset({R.AGENT, R.SYSTEM}),
    "reopen": frozenset({R.AGENT, R.LEAD, R.SYSTEM}),
}

COMMAND_LABELS: dict[str, str] = {
    "accept": "受理", "merge": "合并（重复案件）", "invalidate": "作废", "request_invalidation": "申请作废",
    "approve_invalidation": "批准作废", "refuse_invalidation": "驳回作废申请", "request_verification": "发核实",
    "report_verified": "核实反馈", "register": "立案", "dispatch": "派遣", "acknowledge": "签收",
    "request_return": "申请回退", "approve_return": "批准回退", "refuse_return": "驳回回退申请",
    "request_extension": "申请延期", "approve_extension": "批准延期", "refuse_extension": "驳回延期申请",
    "request_backlog": "申请挂账", "approve_backlog": "批准挂账", "refuse_backlog": "驳回挂账申请",
    "resume": "恢复处置", "submit_result": "处置反馈", "request_check": "发核查", "check_pass": "核查通过",
    "check_fail": "核查不通过（返工）", "close": "结案", "rate": "回访评价", "reopen": "重办",
}

NEEDS_REASON = frozenset({
    "merge", "invalidate", "request_invalidation", "refuse_invalidation", "request_return", "refuse_return",
    "request_extension", "refuse_extension", "request_backlog", "refuse_backlog", "check_fail", "reopen",
})
DEPARTMENT_BOUND = frozenset({"acknowledge", "request_return", "request_extension", "request_backlog",
                              "submit_result"})
TERMINAL = frozenset(s for s in State if not any(src is s for src, _ in TRANSITIONS))


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    actor: Actor
    expected_version: int | None = None
    reason: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    """What the workflow needs to know that is not in the case: calendar, limits, known departments."""

    calendar: WorkCalendar
    stage_limits: Mapping[Stage, Limit]
    handling_limit: Limit  # the category's 处置时限
    rework_limit: Limit
    departments: frozenset[str]
    yellow_fraction: float = 0.8
    reopen_window: timedelta = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """Something that happened to a case (past tense, e.g. CaseDispatched)."""

    name: str
    case_no: str
    from_state: State
    to_state: State
    at: datetime
    actor: str
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    at: datetime
    actor: str
    actor_role: Role
    command: str
    from_state: State
    to_state: State
    reason: str | None
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Outcome:
    case: CaseFlow
    event: CaseEvent
    history: HistoryEntry


def event_name(command: str) -> str:
    """CamelCase past-tense event name for a command, e.g. dispatch -> CaseDispatched."""
    return "Case" + "".join(p.capitalize() for p in _PAST.get(command, command).split("_"))


_PAST = {
    "accept": "accepted", "merge": "merged", "invalidate": "invalidated",
    "request_invalidation": "invalidation_requested", "approve_invalidation": "invalidation_approved",
    "refuse_invalidation": "invalidation_refused", "request_verification": "verification_requested",
    "report_verified": "verified", "register": "registered", "dispatch": "dispatched",
    "acknowledge": "acknowledged", "request_return": "return_requested", "approve_return": "returned",
    "refuse_return": "return_refused", "request_extension": "extension_requested",
    "approve_extension": "extended", "refuse_extension": "extension_refused",
    "request_backlog": "backlog_requested", "approve_backlog": "backlogged", "refuse_backlog": "backlog_refused",
    "resume": "resumed", "submit_result": "handled", "request_check": "check_requested",
    "check_pass": "check_passed", "check_fail": "check_failed", "close": "closed", "rate": "rated",
    "reopen": "reopened",
}


def check_permission(case: CaseFlow, command: str, actor: Actor) -> None:
    """Raise Forbidden unless the actor's role (and department) may issue the command on this case."""
    if actor.role not in PERMISSIONS.get(command, frozenset()):
        raise Forbidden(f"{actor.role.label}无权执行“{COMMAND_LABELS.get(command, command)}”")
    if command in DEPARTMENT_BOUND and actor.department_code != case.department_code:
        raise Forbidden("该案件不在本部门办理，不能操作")


def apply(case: CaseFlow, command: Command, now: datetime, policy: Policy) -> Outcome:
    """Apply one command; return the new case, its event and history entry, or raise and change nothing."""
    target = TRANSITIONS.get((case.state, command.name))
    if command.name not in PERMISSIONS:
        raise IllegalCommand(f"未知操作：{command.name}", code="unknown_command")
    # A stale view is reported as such first: what the client saw is no longer the case's state.
    if command.expected_version is not None and command.expected_version != case.version:
        raise StaleVersion(f"案件已被他人修改（当前版本 {case.version}），请刷新后重试")
    if target is None:
        raise IllegalCommand(
            f"案件当前状态为“{case.state.label}”，不能执行“{COMMAND_LABELS[command.name]}”")
    check_permission(case, command.name, command.actor)
    reason = (command.reason or "").strip() or None
    if command.name in NEEDS_REASON and not reason:
        raise InvalidParameters(f"“{COMMAND_LABELS[command.name]}”需要填写理由")
    _check_preconditions(case, command.name, command.actor)
    changed, payload = _EFFECTS[command.name](case, command, now, policy)
    new_case = replace(changed, state=target, version=case.version + 1)
    actor = command.actor
    event = CaseEvent(event_name(command.name), case.case_no, case.state, target, now, actor.username, payload)
    history = HistoryEntry(now, actor.username, actor.role, command.name, case.state, target, reason, payload)
    return Outcome(new_case, event, history)


def available_commands(case: CaseFlow, actor: Actor) -> list[str]:
    """Commands this actor could issue now (table, role, department binding and parameter-free rules)."""
    allowed = []
    for (state, name) in TRANSITIONS:
        if state is not case.state:
            continue
        try:
            check_permission(case, name, actor)
            _check_preconditions(case, name, actor)
        except (Forbidden, PreconditionFailed):
            continue
        allowed.append(name)
    return allowed


# --- preconditions that need no parameters -------------------------------------------------------------

_NEEDS_PENDING = {
    "approve_invalidation": RequestKind.INVALIDATION, "refuse_invalidation": RequestKind.INVALIDATION,
    "report_verified": RequestKind.VERIFICATION, "approve_return": RequestKind.RETURN,
    "refuse_return": RequestKind.RETURN, "approve_extension": RequestKind.EXTENSION,
    "refuse_extension": RequestKind.EXTENSION, "approve_backlog": RequestKind.BACKLOG,
    "refuse_backlog": RequestKind.BACKLOG,
}
_NO_DUPLICATE = {
    "request_invalidation": RequestKind.INVALIDATION, "request_verification": RequestKind.VERIFICATION,
    "request_return": RequestKind.RETURN, "request_extension": RequestKind.EXTENSION,
    "request_backlog": RequestKind.BACKLOG, "request_check": RequestKind.CHECK,
}


def _check_preconditions(case: CaseFlow, name: str, actor: Actor) -> None:
    if name in _NEEDS_PENDING and case.pending(_NEEDS_PENDING[name]) is None:
        raise PreconditionFailed(f"没有待审批的{_NEEDS_PENDING[name].label}申请")
    if name in _NO_DUPLICATE and case.pending(_NO_DUPLICATE[name]) is not None:
        raise PreconditionFailed(f"已有待处理的{_NO_DUPLICATE[name].label}申请")
    if name == "register" and case.verification == "pending":
        raise PreconditionFailed("核实尚未反馈，不能立案")
    if name == "approve_extension" and case.extension_count >= 1 and actor.role is not Role.LEAD:
        raise PreconditionFailed("第二次及以上延期须由值班长审批")
    if name == "close" and case.check_result != "passed":
        raise PreconditionFailed("现场核查通过后才能结案")
    if name in {"submit_result", "acknowledge"} and case.pending(RequestKind.RETURN) is not None:
        raise PreconditionFailed("回退申请待审批中")


# --- effects: what each command changes besides the state ----------------------------------------------

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


def _accept(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    return _next_stage(case, now, p, Stage.ACCEPTANCE, Stage.REGISTRATION), {}


def _register(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    return _next_stage(case, now, p, Stage.REGISTRATION, Stage.DISPATCHING), {}


def _dispatch(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
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


def _make_request(kind: RequestKind) -> Effect:
    def effect(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
        payload: dict[str, Any] = {}
        if kind is RequestKind.EXTENSION:
            payload = {"extension": _extension(cmd).describe(), **_extension_params(cmd)}
        return _new_request(case, kind, cmd, now, payload), {"request": kind.value, **payload}
    return effect


def _make_refusal(kind: RequestKind) -> Effect:
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


def _approve_extension(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
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


def _approve_return(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    case = _decide(case, RequestKind.RETURN, cmd, now, RequestState.APPROVED)
    previous = case.department_code
    case = _start(_finish(case, now, Stage.HANDLING), Stage.DISPATCHING, p.stage_limits[Stage.DISPATCHING],
                  now, p)
    return replace(case, department_code=None), {"request": "return", "returned_by": previous}


def _approve_backlog(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    clock = case.open_stage(Stage.HANDLING)
    case = _decide(case, RequestKind.BACKLOG, cmd, now, RequestState.APPROVED)
    if clock is not None:
        case = _replace_clock(case, clock, replace(clock, paused_at=now))
    return case, {"request": "backlog"}


def _resume(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
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


def _submit_result(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    notes = _text(cmd, "notes", required=True)
    photos = cmd.params.get("photos", [])
    if not isinstance(photos, list) or not all(isinstance(x, str) for x in photos) or len(photos) > 20:
        raise InvalidParameters("photos 应为不超过 20 个照片编号的列表")
    case = _next_stage(case, now, p, Stage.HANDLING, Stage.CHECKING)
    return replace(case, check_result=None), {"notes": notes, "photos": photos}


def _request_check(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    return _new_request(case, RequestKind.CHECK, cmd, now), {"request": "check"}


def _close_check(case: CaseFlow, cmd: Command, now: datetime) -> CaseFlow:
    if case.pending(RequestKind.CHECK) is not None:
        return _decide(case, RequestKind.CHECK, cmd, now, RequestState.DONE)
    return case


def _check_pass(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    if case.check_result == "passed":
        raise PreconditionFailed("已核查通过，等待结案")
    case = _next_stage(_close_check(case, cmd, now), now, p, Stage.CHECKING, Stage.CLOSING)
    return replace(case, check_result="passed"), {"notes": _text(cmd, "notes", required=False)}


def _check_fail(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    case = _close_check(case, cmd, now)
    case = _start(_finish(case, now), Stage.HANDLING, p.rework_limit, now, p)
    return replace(case, check_result=None, rework_count=case.rework_count + 1), {"rework": case.rework_count + 1}


def _request_verification(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    case = _new_request(case, RequestKind.VERIFICATION, cmd, now)
    return replace(case, verification="pending"), {"request": "verification"}


def _report_verified(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    confirmed = cmd.params.get("confirmed")
    if not isinstance(confirmed, bool):
        raise InvalidParameters("核实结果 confirmed 应为 true 或 false")
    result = "confirmed" if confirmed else "rejected"
    case = _decide(case, RequestKind.VERIFICATION, cmd, now, RequestState.DONE, {"result": result})
    return replace(case, verification=result), {"result": result, "notes": _text(cmd, "notes", required=False)}


def _invalidate(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    return _finish(case, now), {}


def _approve_invalidation(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    case = _decide(case, RequestKind.INVALIDATION, cmd, now, RequestState.APPROVED)
    return _finish(case, now), {"request": "invalidation"}


def _merge(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    other = _text(cmd, "merged_into", required=True, max_len=32)
    if other == case.case_no:
        raise InvalidParameters("不能与自身合并")
    return replace(_finish(case, now), merged_into=other), {"merged_into": other}


def _close(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    return replace(_finish(case, now), closed_at=now), {}


def _rate(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    value = cmd.params.get("satisfaction")
    if value not in (1, 2, 3) or isinstance(value, bool):
        raise InvalidParameters("满意度 satisfaction 应为 1（满意）、2（基本满意）或 3（不满意）")
    return replace(case, satisfaction=value), {"satisfaction": value}


def _reopen(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    if case.closed_at is not None and now - case.closed_at > p.reopen_window:
        raise PreconditionFailed(f"结案已超过 {p.reopen_window.days} 天，不能重办，请新建案件")
    case = _start(case, Stage.HANDLING, p.handling_limit, now, p)
    case = replace(case, reopen_count=case.reopen_count + 1, check_result=None, closed_at=None)
    return case, {"department": case.department_code, "reopen": case.reopen_count}


def _nothing(case: CaseFlow, cmd: Command, now: datetime, p: Policy) -> Result:
    return case, {}


_EFFECTS: dict[str, Effect] = {
    "accept": _accept, "register": _register, "dispatch": _dispatch, "acknowledge": _nothing,
    "merge": _merge, "invalidate": _invalidate,
    "request_invalidation": _make_request(RequestKind.INVALIDATION),
    "approve_invalidation": _approve_invalidation,
    "refuse_invalidation": _make_refusal(RequestKind.INVALIDATION),
    "request_verification": _request_verification, "report_verified": _report_verified,
    "request_return": _make_request(RequestKind.RETURN), "approve_return": _approve_return,
    "refuse_return": _make_refusal(RequestKind.RETURN),
    "request_extension": _make_request(RequestKind.EXTENSION), "approve_extension": _approve_extension,
    "refuse_extension": _make_refusal(RequestKind.EXTENSION),
    "request_backlog": _make_request(RequestKind.BACKLOG), "approve_backlog": _approve_backlog,
    "refuse_backlog": _make_refusal(RequestKind.BACKLOG), "resume": _resume,
    "submit_result": _submit_result, "request_check": _request_check, "check_pass": _check_pass,
    "check_fail": _check_fail, "close": _close, "rate": _rate, "reopen": _reopen,
}
assert set(_EFFECTS) == set(PERMISSIONS) == {c for _, c in TRANSITIONS}


def new_case(case_no: str, category_code: str, now: datetime, policy: Policy,
             state: State = State.REPORTED) -> CaseFlow:
    """A freshly reported case with its acceptance clock running."""
    case = CaseFlow(case_no=case_no, state=state, version=1, category_code=category_code, created_at=now)
    return _start(case, Stage.ACCEPTANCE, policy.stage_limits[Stage.ACCEPTANCE], now, policy)
