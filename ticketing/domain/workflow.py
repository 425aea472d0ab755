"""The case workflow (CJ/T 315 / GB/T 30428.8) as one transition table.

`apply(case, command, now, policy)` is pure: it returns the new case, the events and the history entry, or
raises a DomainError and changes nothing (in the style of h11's _state.py). Deadlines are stamped here from
the policy's working calendar; the service layer persists the result in one transaction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from core.errors import (
    Forbidden,
    IllegalCommand,
    InvalidParameters,
    PreconditionFailed,
    StaleVersion,
)
from ticketing.domain.commands import CaseEvent, Command, HistoryEntry, Outcome, Policy
from ticketing.domain.effects import EFFECTS, start_stage
from ticketing.domain.model import Actor, CaseFlow, RequestKind, Role, Stage, State

__all__ = ["COMMAND_LABELS", "PERMISSIONS", "TERMINAL", "TRANSITIONS", "CaseEvent", "Command", "HistoryEntry",
           "Outcome", "Policy", "apply", "available_commands", "check_permission", "new_case"]

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
    changed, payload = EFFECTS[command.name](case, command, now, policy)
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


assert set(EFFECTS) == set(PERMISSIONS) == {c for _, c in TRANSITIONS}


def new_case(case_no: str, category_code: str, now: datetime, policy: Policy,
             state: State = State.REPORTED) -> CaseFlow:
    """A freshly reported case with its acceptance clock running."""
    case = CaseFlow(case_no=case_no, state=state, version=1, category_code=category_code, created_at=now)
    return start_stage(case, Stage.ACCEPTANCE, policy.stage_limits[Stage.ACCEPTANCE], now, policy)
