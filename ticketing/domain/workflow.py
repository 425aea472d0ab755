"""The case workflow (CJ/T 315 / GB/T 30428.8) as one transition table.

`apply(case, command, now, policy)` is pure: it returns the new case, the events and the history entry, or
raises a DomainError and changes nothing (in the style of h11's _state.py). Deadlines are stamped here from
the policy's working calendar; the service layer persists the result in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from core.errors import (
    Forbidden,
    IllegalCommand,
    InvalidParameters,
    PreconditionFailed,
    StaleVersion,
)
from ticketing.domain import effects as fx
from ticketing.domain.commands import CaseEvent, Command, HistoryEntry, Outcome, Policy
from ticketing.domain.effects import Effect, start_stage
from ticketing.domain.model import Actor, CaseFlow, RequestKind, Role, Stage, State

__all__ = [
    "COMMANDS",
    "COMMAND_LABELS",
    "PERMISSIONS",
    "TERMINAL",
    "TRANSITIONS",
    "CaseEvent",
    "Command",
    "CommandSpec",
    "HistoryEntry",
    "Outcome",
    "Policy",
    "apply",
    "available_commands",
    "check_permission",
    "new_case",
]

S, R, K = State, Role, RequestKind


@dataclass(frozen=True)
class CommandSpec:
    """Everything about one case command. `COMMANDS` below is the single source of truth: the transition
    table, the roles, labels and rules are read from it, docs/workflow.md is generated from it and the tests
    walk it."""

    name: str
    label: str  # what people see (Chinese)
    roles: frozenset[Role]  # who may issue it; department users additionally only for their own department
    moves: Mapping[State, State]  # the states it is legal in -> the state it leads to
    effect: Effect  # what it changes besides the state (ticketing/domain/effects.py)
    past: str  # its event in the past tense: dispatched -> CaseDispatched
    reason_needed: bool = False
    department_bound: bool = False  # only the case's own department may issue it
    needs_pending: RequestKind | None = None  # decides a pending request of this kind
    refuses_duplicate: RequestKind | None = None  # opens a request: refused while one of this kind is pending


def _spec(name: str, label: str, roles: set[Role], moves: dict[State, State], effect: Effect, past: str,
          **rules: Any) -> tuple[str, CommandSpec]:
    return name, CommandSpec(name, label, frozenset(roles), moves, effect, past, **rules)


_REQUEST_STATES = (S.REPORTED, S.ACCEPTED)  # where invalidation may be requested and decided
COMMANDS: dict[str, CommandSpec] = dict([
    # SYSTEM: an inspector's report of a class configured to skip 受理/立案 (cases.inspection.register_directly)
    _spec("accept", "受理", {R.AGENT, R.LEAD, R.SYSTEM}, {S.REPORTED: S.ACCEPTED}, fx.accept, "accepted"),
    _spec("request_verification", "发核实", {R.AGENT}, {S.ACCEPTED: S.ACCEPTED}, fx.request_verification,
          "verification_requested", refuses_duplicate=K.VERIFICATION),
    _spec("report_verified", "核实反馈", {R.INSPECTOR}, {S.ACCEPTED: S.ACCEPTED}, fx.report_verified, "verified",
          needs_pending=K.VERIFICATION),
    _spec("register", "立案", {R.LEAD, R.SYSTEM}, {S.ACCEPTED: S.REGISTERED}, fx.register, "registered"),
    _spec("dispatch", "派遣", {R.DISPATCHER}, {S.REGISTERED: S.DISPATCHED}, fx.dispatch, "dispatched"),
    _spec("merge", "合并（重复案件）", {R.AGENT, R.LEAD}, {s: S.INVALID for s in (*_REQUEST_STATES, S.REGISTERED)},
          fx.merge, "merged", reason_needed=True),
    _spec("invalidate", "作废", {R.LEAD}, {s: S.INVALID for s in (*_REQUEST_STATES, S.REGISTERED)},
          fx.invalidate, "invalidated", reason_needed=True),
    _spec("request_invalidation", "申请作废", {R.AGENT, R.DISPATCHER}, {s: s for s in _REQUEST_STATES},
          fx.make_request(K.INVALIDATION), "invalidation_requested", reason_needed=True,
          refuses_duplicate=K.INVALIDATION),
    _spec("approve_invalidation", "批准作废", {R.LEAD}, {s: S.INVALID for s in _REQUEST_STATES},
          fx.approve_invalidation, "invalidation_approved", needs_pending=K.INVALIDATION),
    _spec("refuse_invalidation", "驳回作废申请", {R.LEAD}, {s: s for s in _REQUEST_STATES},
          fx.make_refusal(K.INVALIDATION), "invalidation_refused", reason_needed=True,
          needs_pending=K.INVALIDATION),
    _spec("acknowledge", "签收", {R.DEPARTMENT}, {S.DISPATCHED: S.DISPATCHED}, fx.nothing, "acknowledged",
          department_bound=True),
    _spec("request_return", "申请回退", {R.DEPARTMENT}, {S.DISPATCHED: S.DISPATCHED}, fx.make_request(K.RETURN),
          "return_requested", reason_needed=True, department_bound=True, refuses_duplicate=K.RETURN),
    _spec("approve_return", "批准回退", {R.DISPATCHER}, {S.DISPATCHED: S.REGISTERED}, fx.approve_return,
          "returned", needs_pending=K.RETURN),
    _spec("refuse_return", "驳回回退申请", {R.DISPATCHER}, {S.DISPATCHED: S.DISPATCHED}, fx.make_refusal(K.RETURN),
          "return_refused", reason_needed=True, needs_pending=K.RETURN),
    _spec("request_extension", "申请延期", {R.DEPARTMENT}, {S.DISPATCHED: S.DISPATCHED},
          fx.make_request(K.EXTENSION), "extension_requested", reason_needed=True, department_bound=True,
          refuses_duplicate=K.EXTENSION),
    _spec("approve_extension", "批准延期", {R.DISPATCHER, R.LEAD}, {S.DISPATCHED: S.DISPATCHED},
          fx.approve_extension, "extended", needs_pending=K.EXTENSION),
    _spec("refuse_extension", "驳回延期申请", {R.DISPATCHER, R.LEAD}, {S.DISPATCHED: S.DISPATCHED},
          fx.make_refusal(K.EXTENSION), "extension_refused", reason_needed=True, needs_pending=K.EXTENSION),
    _spec("request_backlog", "申请挂账", {R.DEPARTMENT}, {S.DISPATCHED: S.DISPATCHED}, fx.make_request(K.BACKLOG),
          "backlog_requested", reason_needed=True, department_bound=True, refuses_duplicate=K.BACKLOG),
    _spec("approve_backlog", "批准挂账", {R.DISPATCHER}, {S.DISPATCHED: S.BACKLOG}, fx.approve_backlog,
          "backlogged", needs_pending=K.BACKLOG),
    _spec("refuse_backlog", "驳回挂账申请", {R.DISPATCHER}, {S.DISPATCHED: S.DISPATCHED},
          fx.make_refusal(K.BACKLOG), "backlog_refused", reason_needed=True, needs_pending=K.BACKLOG),
    _spec("submit_result", "处置反馈", {R.DEPARTMENT}, {S.DISPATCHED: S.HANDLED}, fx.submit_result, "handled",
          department_bound=True),
    _spec("resume", "恢复处置", {R.DISPATCHER, R.LEAD}, {S.BACKLOG: S.DISPATCHED}, fx.resume, "resumed"),
    _spec("request_check", "发核查", {R.AGENT}, {S.HANDLED: S.HANDLED}, fx.request_check, "check_requested",
          refuses_duplicate=K.CHECK),
    _spec("check_pass", "核查通过", {R.INSPECTOR}, {S.HANDLED: S.HANDLED}, fx.check_pass, "check_passed",
          needs_pending=K.CHECK),
    _spec("check_fail", "核查不通过（返工）", {R.INSPECTOR}, {S.HANDLED: S.DISPATCHED}, fx.check_fail,
          "check_failed", reason_needed=True, needs_pending=K.CHECK),
    _spec("reassign_inspector", "改派监督员", {R.LEAD}, {S.ACCEPTED: S.ACCEPTED, S.HANDLED: S.HANDLED},
          fx.reassign_inspector, "inspector_reassigned"),
    _spec("close", "结案", {R.LEAD}, {S.HANDLED: S.CLOSED}, fx.close, "closed"),
    _spec("rate", "回访评价", {R.AGENT, R.SYSTEM}, {S.CLOSED: S.CLOSED}, fx.rate, "rated"),
    _spec("reopen", "重办", {R.AGENT, R.LEAD, R.SYSTEM}, {S.CLOSED: S.DISPATCHED}, fx.reopen, "reopened",
          reason_needed=True),
])

# Views of COMMANDS for readers that want one aspect.
# (state, command) -> next state. A command absent for a state is illegal there.
TRANSITIONS: dict[tuple[State, str], State] = {
    (state, spec.name): spec.moves[state] for state in State for spec in COMMANDS.values() if state in spec.moves}
PERMISSIONS: dict[str, frozenset[Role]] = {name: spec.roles for name, spec in COMMANDS.items()}
COMMAND_LABELS: dict[str, str] = {name: spec.label for name, spec in COMMANDS.items()}
NEEDS_REASON = frozenset(name for name, spec in COMMANDS.items() if spec.reason_needed)
TERMINAL = frozenset(s for s in State if not any(src is s for src, _ in TRANSITIONS))


def event_name(command: str) -> str:
    """CamelCase past-tense event name for a command, e.g. dispatch -> CaseDispatched."""
    return "Case" + "".join(p.capitalize() for p in COMMANDS[command].past.split("_"))


def check_permission(case: CaseFlow, command: str, actor: Actor) -> None:
    """Raise Forbidden unless the actor's role (and department) may issue the command on this case."""
    spec = COMMANDS.get(command)
    if spec is None or actor.role not in spec.roles:
        raise Forbidden(f"{actor.role.label}无权执行“{spec.label if spec else command}”")
    if spec.department_bound and actor.department_code != case.department_code:
        raise Forbidden("该案件不在本部门办理，不能操作")


def apply(case: CaseFlow, command: Command, now: datetime, policy: Policy) -> Outcome:
    """Apply one command; return the new case, its event and history entry, or raise and change nothing."""
    spec = COMMANDS.get(command.name)
    if spec is None:
        raise IllegalCommand(f"未知操作：{command.name}", code="unknown_command")
    target = spec.moves.get(case.state)
    # A stale view is reported as such first: what the client saw is no longer the case's state.
    if command.expected_version is not None and command.expected_version != case.version:
        raise StaleVersion(f"案件已被他人修改（当前版本 {case.version}），请刷新后重试")
    if target is None:
        raise IllegalCommand(
            f"案件当前状态为“{case.state.label}”，不能执行“{spec.label}”")
    check_permission(case, command.name, command.actor)
    reason = (command.reason or "").strip() or None
    if spec.reason_needed and not reason:
        raise InvalidParameters(f"“{spec.label}”需要填写理由")
    _check_preconditions(case, command.name, command.actor)
    changed, payload = spec.effect(case, command, now, policy)
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

def _check_preconditions(case: CaseFlow, name: str, actor: Actor) -> None:
    spec = COMMANDS[name]
    if spec.needs_pending and case.pending(spec.needs_pending) is None:
        label = spec.needs_pending.label
        if spec.needs_pending in INSPECTOR_ANSWERS.values():
            raise PreconditionFailed(f"没有待反馈的{label}任务（已被反馈，或尚未发{label}）", code="task_gone")
        raise PreconditionFailed(f"没有待审批的{spec.needs_pending.label}申请")
    if spec.refuses_duplicate and case.pending(spec.refuses_duplicate) is not None:
        raise PreconditionFailed(f"已有待处理的{spec.refuses_duplicate.label}申请")
    if name == "register" and case.verification == "pending":
        raise PreconditionFailed("核实尚未反馈，不能立案")
    if name == "approve_extension" and case.extension_count >= 1 and actor.role is not Role.LEAD:
        raise PreconditionFailed("第二次及以上延期须由值班长审批")
    if name == "close" and case.check_result != "passed":
        raise PreconditionFailed("现场核查通过后才能结案")
    if name in {"submit_result", "acknowledge"} and case.pending(RequestKind.RETURN) is not None:
        raise PreconditionFailed("回退申请待审批中")
    if name == "reassign_inspector" and fx.inspection_task(case) is None:
        raise PreconditionFailed("没有待反馈的核实或核查任务")
    if name in INSPECTOR_ANSWERS:
        _check_assignee(case, INSPECTOR_ANSWERS[name], actor)


# The commands by which an inspector answers a 核实 or 核查 task, and the task (request) each one decides.
INSPECTOR_ANSWERS = {"report_verified": K.VERIFICATION, "check_pass": K.CHECK, "check_fail": K.CHECK}


def _check_assignee(case: CaseFlow, kind: RequestKind, actor: Actor) -> None:
    """A task assigned to an inspector (by duty grid, or by the lead's reassignment) is answered by that
    inspector only; a task left in the pool (no duty-grid inspector) may be answered by any inspector."""
    task = case.pending(kind)
    assignee = task.payload.get("assignee") if task is not None else None
    if assignee and assignee != actor.username:
        raise Forbidden(f"该{kind.label}任务已派给监督员 {assignee}，只有被指派（或值班长改派）的监督员可以反馈")



def new_case(case_no: str, category_code: str, now: datetime, policy: Policy,
             state: State = State.REPORTED) -> CaseFlow:
    """A freshly reported case with its acceptance clock running."""
    case = CaseFlow(case_no=case_no, state=state, version=1, category_code=category_code, created_at=now)
    return start_stage(case, Stage.ACCEPTANCE, policy.stage_limits[Stage.ACCEPTANCE], now, policy)
