"""The case transition table: reachability, terminal states, illegal commands, roles, deadlines."""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.errors import (
    Forbidden,
    IllegalCommand,
    InvalidParameters,
    PreconditionFailed,
    StaleVersion,
)
from ticketing.domain.calendar import Limit, LimitUnit, WorkCalendar
from ticketing.domain.model import Actor, CaseFlow, Light, RequestKind, RequestState, Role, Stage, State
from ticketing.domain.workflow import (
    PERMISSIONS,
    TERMINAL,
    TRANSITIONS,
    Command,
    Policy,
    apply,
    available_commands,
    new_case,
)

pytestmark = pytest.mark.dates  # fixed dates are this module's inputs, not the machine's date
TZ = ZoneInfo("Asia/Shanghai")
MON_9 = datetime(2026, 11, 23, 9, 0, tzinfo=TZ).astimezone(UTC)
AGENT = Actor("agent01", Role.AGENT)
LEAD = Actor("lead01", Role.LEAD)
DISPATCHER = Actor("dispatcher01", Role.DISPATCHER)
INSPECTOR = Actor("inspector01", Role.INSPECTOR)
DEPT = Actor("dept-szs", Role.DEPARTMENT, "szs")
OTHER_DEPT = Actor("dept-hws", Role.DEPARTMENT, "hws")
ACTORS = {Role.AGENT: AGENT, Role.LEAD: LEAD, Role.DISPATCHER: DISPATCHER, Role.INSPECTOR: INSPECTOR,
          Role.DEPARTMENT: DEPT, Role.ADMIN: Actor("admin", Role.ADMIN), Role.SYSTEM: Actor("sys", Role.SYSTEM)}
H = LimitUnit.WORKING_HOURS

POLICY = Policy(
    calendar=WorkCalendar(tz=TZ, covered_years=frozenset({2026})),
    stage_limits={Stage.ACCEPTANCE: Limit(0.5, H), Stage.REGISTRATION: Limit(2, H),
                  Stage.DISPATCHING: Limit(1, H), Stage.CHECKING: Limit(4, H), Stage.CLOSING: Limit(2, H)},
    handling_limit=Limit(4, H), rework_limit=Limit(1, LimitUnit.WORKING_DAYS),
    departments=frozenset({"szs", "hws"}),
)

# Parameters that make each command valid, so the walk explores every edge of the table.
PARAMS = {"dispatch": {"department": "szs"}, "submit_result": {"notes": "已修复"},
          "request_extension": {"value": 1, "unit": "working_days"}, "report_verified": {"confirmed": True},
          "merge": {"merged_into": "202611230999"}, "rate": {"satisfaction": 1},
          "reassign_inspector": {"inspector": "inspector02"}}


def run(case: CaseFlow, name: str, actor: Actor | None = None, now: datetime = MON_9, **params: object):
    actor = actor or ACTORS[sorted(PERMISSIONS[name])[0]]
    merged = {**PARAMS.get(name, {}), **params}
    return apply(case, Command(name, actor, reason="理由", params=merged), now, POLICY).case


def fresh() -> CaseFlow:
    return new_case("202611230001", "10118", MON_9, POLICY)


def prepared(case: CaseFlow, name: str) -> CaseFlow:
    """Put a pending request in place where the command needs one (approvals, verification results)."""
    needs = {"approve_": None, "refuse_": None}
    kind = None
    for prefix in needs:
        if name.startswith(prefix):
            kind = RequestKind(name.removeprefix(prefix))
    if name == "report_verified":
        kind = RequestKind.VERIFICATION
    if name in ("check_pass", "check_fail"):
        kind = RequestKind.CHECK
    if name == "reassign_inspector":
        kind = RequestKind.CHECK if case.state is State.HANDLED else RequestKind.VERIFICATION
    if kind is None:
        return case
    requester = {"invalidation": AGENT, "verification": AGENT, "check": AGENT}.get(kind.value, DEPT)
    return run(case, f"request_{kind.value}", requester)


def reachable() -> dict[State, CaseFlow]:
    """Breadth-first walk of the table from a new case, issuing each command with a permitted actor."""
    seen = {State.REPORTED: fresh()}
    queue = deque([fresh()])
    while queue:
        case = queue.popleft()
        for (state, name), target in TRANSITIONS.items():
            if state is not case.state or target in seen:
                continue
            base = prepared(case, name)
            if name == "close":
                base = run(run(base, "request_check", AGENT), "check_pass", INSPECTOR)
            actor = DEPT if Role.DEPARTMENT in PERMISSIONS[name] else None
            seen[target] = run(base, name, actor)
            queue.append(seen[target])
    return seen


def test_every_state_is_reachable_from_a_new_case() -> None:
    assert set(reachable()) == set(State)


def test_only_invalid_is_terminal_and_it_has_no_exits() -> None:
    assert {State.INVALID} == TERMINAL
    assert not [k for k in TRANSITIONS if k[0] in TERMINAL]


@pytest.mark.parametrize("state", list(State))
def test_commands_outside_the_table_are_refused_without_change(state: State) -> None:
    case = reachable()[state]
    for name in PERMISSIONS:
        if (state, name) in TRANSITIONS:
            continue
        for actor in ACTORS.values():
            with pytest.raises(IllegalCommand):
                apply(case, Command(name, actor, reason="x", params=PARAMS.get(name, {})), MON_9, POLICY)
    assert reachable()[state] == case  # frozen aggregate: nothing was mutated


def test_unknown_command_is_refused() -> None:
    with pytest.raises(IllegalCommand) as err:
        apply(fresh(), Command("teleport", LEAD), MON_9, POLICY)
    assert err.value.code == "unknown_command"


@pytest.mark.parametrize("key", sorted(TRANSITIONS, key=lambda k: (k[0].value, k[1])), ids=lambda k: f"{k[0]}-{k[1]}")
def test_each_command_is_refused_to_roles_without_permission(key: tuple[State, str]) -> None:
    state, name = key
    case = prepared(reachable()[state], name)
    for role, actor in ACTORS.items():
        if role in PERMISSIONS[name]:
            continue
        with pytest.raises(Forbidden):
            apply(case, Command(name, actor, reason="x", params=PARAMS.get(name, {})), MON_9, POLICY)


def test_department_commands_are_refused_to_other_departments() -> None:
    dispatched = run(run(run(run(fresh(), "accept"), "register"), "dispatch"), "acknowledge", DEPT)
    for name in ("acknowledge", "request_return", "request_extension", "request_backlog", "submit_result"):
        with pytest.raises(Forbidden):
            apply(dispatched, Command(name, OTHER_DEPT, reason="x", params=PARAMS.get(name, {})), MON_9, POLICY)
    assert "submit_result" not in available_commands(dispatched, OTHER_DEPT)
    assert "submit_result" in available_commands(dispatched, DEPT)


def test_stale_version_is_refused() -> None:
    with pytest.raises(StaleVersion):
        apply(fresh(), Command("accept", AGENT, expected_version=7), MON_9, POLICY)


def test_full_lifecycle_stamps_deadlines_and_counts_history() -> None:
    case = fresh()
    assert case.open_stage(Stage.ACCEPTANCE).due_at == MON_9 + timedelta(minutes=30)
    case = run(case, "accept")
    case = run(case, "register")
    case = run(case, "dispatch", now=MON_9 + timedelta(hours=1))
    handling = case.open_stage(Stage.HANDLING)
    # 10:00 + 4 working hours: 10:00-12:00, lunch, 13:30-15:30.
    assert handling.due_at.astimezone(TZ) == datetime(2026, 11, 23, 15, 30, tzinfo=TZ)
    assert case.department_code == "szs" and case.version == 4
    case = run(case, "submit_result", DEPT)
    assert case.state is State.HANDLED and case.open_stage(Stage.CHECKING) is not None
    with pytest.raises(PreconditionFailed):
        run(case, "close")
    case = run(run(run(case, "request_check", AGENT), "check_pass", INSPECTOR), "close")
    assert case.state is State.CLOSED and case.open_stage() is None and case.closed_at == MON_9


def test_dispatch_without_department_is_refused() -> None:
    registered = run(run(fresh(), "accept"), "register")
    with pytest.raises(InvalidParameters):
        apply(registered, Command("dispatch", DISPATCHER), MON_9, POLICY)
    with pytest.raises(InvalidParameters):
        apply(registered, Command("dispatch", DISPATCHER, params={"department": "nope"}), MON_9, POLICY)


def test_return_goes_back_to_registered_for_redispatch() -> None:
    case = run(run(run(fresh(), "accept"), "register"), "dispatch")
    case = run(case, "request_return", DEPT)
    assert case.state is State.DISPATCHED and case.pending(RequestKind.RETURN) is not None
    with pytest.raises(PreconditionFailed):
        run(case, "submit_result", DEPT)
    case = run(case, "approve_return")
    assert case.state is State.REGISTERED and case.department_code is None
    assert case.open_stage(Stage.DISPATCHING) is not None and case.open_stage(Stage.HANDLING) is None
    assert case.requests[-1].state is RequestState.APPROVED


def test_extension_moves_the_deadline_and_second_needs_the_shift_lead() -> None:
    case = run(run(run(fresh(), "accept"), "register"), "dispatch")
    due = case.open_stage(Stage.HANDLING).due_at
    case = run(run(case, "request_extension", DEPT, value=2, unit="working_hours"), "approve_extension",
               DISPATCHER)
    assert case.open_stage(Stage.HANDLING).due_at == due + timedelta(hours=2)
    assert case.extension_count == 1
    case = run(case, "request_extension", DEPT, value=1, unit="working_hours")
    with pytest.raises(PreconditionFailed):
        run(case, "approve_extension", DISPATCHER)
    case = run(case, "approve_extension", LEAD)
    assert case.extension_count == 2


def test_refused_request_keeps_the_deadline() -> None:
    case = run(run(run(fresh(), "accept"), "register"), "dispatch")
    due = case.open_stage(Stage.HANDLING).due_at
    case = run(run(case, "request_extension", DEPT), "refuse_extension")
    assert case.open_stage(Stage.HANDLING).due_at == due and case.requests[-1].state is RequestState.REFUSED
    assert case.requests[-1].decision_reason == "理由"


def test_backlog_stops_the_clock_and_resume_shifts_it() -> None:
    case = run(run(run(fresh(), "accept"), "register"), "dispatch")
    due = case.open_stage(Stage.HANDLING).due_at  # dispatched Monday 09:00: due 14:30
    case = run(run(case, "request_backlog", DEPT), "approve_backlog", now=MON_9 + timedelta(hours=1))
    assert case.state is State.BACKLOG and case.open_stage(Stage.HANDLING).paused_at is not None
    # Backlogged at 10:00, resumed Tuesday 09:00: the clock stood still for Mon 10:00-17:30 less lunch
    # (6 h) and Tue 08:30-09:00 (0.5 h), so the deadline moves 6.5 working hours.
    tuesday_9 = MON_9 + timedelta(days=1)
    case = run(case, "resume", now=tuesday_9)
    assert case.state is State.DISPATCHED
    shifted = case.open_stage(Stage.HANDLING).due_at
    assert POLICY.calendar.between(due, shifted) == pytest.approx(6.5 * 60)


def test_check_fail_sends_back_for_rework_with_a_new_deadline() -> None:
    case = run(run(run(run(fresh(), "accept"), "register"), "dispatch"), "submit_result", DEPT)
    later = MON_9 + timedelta(hours=2)
    case = run(run(case, "request_check", AGENT), "check_fail", INSPECTOR, now=later)
    assert case.state is State.DISPATCHED and case.rework_count == 1
    clock = case.open_stage(Stage.HANDLING)
    assert clock.limit == POLICY.rework_limit and clock.started_at == later


def test_reopen_returns_to_the_same_department_within_the_window() -> None:
    case = run(run(run(run(fresh(), "accept"), "register"), "dispatch"), "submit_result", DEPT)
    closed = run(run(run(case, "request_check", AGENT), "check_pass", INSPECTOR), "close")
    reopened = run(run(closed, "rate", AGENT, satisfaction=3), "reopen", AGENT, now=MON_9 + timedelta(days=2))
    assert reopened.state is State.DISPATCHED and reopened.department_code == "szs"
    assert reopened.reopen_count == 1 and reopened.satisfaction == 3
    with pytest.raises(PreconditionFailed):
        run(closed, "reopen", AGENT, now=MON_9 + timedelta(days=31))


def test_commands_that_need_a_reason_refuse_without_one() -> None:
    with pytest.raises(InvalidParameters):
        apply(fresh(), Command("invalidate", LEAD, reason="  "), MON_9, POLICY)


def test_verification_pending_blocks_registration() -> None:
    case = run(run(fresh(), "accept"), "request_verification", AGENT)
    with pytest.raises(PreconditionFailed):
        run(case, "register")
    case = run(case, "report_verified", INSPECTOR, confirmed=False)
    assert case.verification == "rejected"
    assert run(case, "register").state is State.REGISTERED


def test_merge_links_the_duplicate_and_ends_it() -> None:
    merged = run(fresh(), "merge", AGENT, merged_into="202611230002")
    assert merged.state is State.INVALID and merged.merged_into == "202611230002"
    with pytest.raises(InvalidParameters):
        run(fresh(), "merge", AGENT, merged_into="202611230001")


def test_traffic_light_follows_the_share_of_the_limit_used() -> None:
    clock = fresh().open_stage(Stage.ACCEPTANCE)  # 30 working minutes from 09:00
    assert clock.light(MON_9 + timedelta(minutes=23)) is Light.GREEN
    assert clock.light(MON_9 + timedelta(minutes=24)) is Light.YELLOW
    assert clock.light(MON_9 + timedelta(minutes=31)) is Light.RED
    assert replace(clock, finished_at=MON_9 + timedelta(minutes=10)).light(MON_9 + timedelta(days=9)) is Light.GREEN


def test_committed_workflow_doc_matches_the_table() -> None:
    from pathlib import Path

    from ticketing.workflow_doc import render

    doc = Path(__file__).resolve().parents[2] / "docs" / "workflow.md"
    assert doc.read_text(encoding="utf-8") == render(), "run: python -m ticketing.workflow_doc > docs/workflow.md"


# --- inspectors' tasks: only a pending task is answered, and only by its inspector -----------------------

def handled() -> CaseFlow:
    return run(run(run(run(fresh(), "accept"), "register"), "dispatch"), "submit_result", DEPT)


def test_a_check_without_a_pending_request_is_refused() -> None:
    case = handled()
    for name in ("check_pass", "check_fail"):
        with pytest.raises(PreconditionFailed, match="没有待反馈的核查任务"):
            run(case, name, INSPECTOR)
        assert name not in available_commands(case, INSPECTOR)


def test_an_assigned_task_is_answered_only_by_its_inspector_until_the_lead_reassigns_it() -> None:
    case = run(handled(), "request_check", AGENT, assignee="inspector01", duty_grid="G1")
    other = Actor("inspector02", Role.INSPECTOR)
    with pytest.raises(Forbidden, match="inspector01"):
        run(case, "check_pass", other)
    assert "check_pass" not in available_commands(case, other)
    assert "check_pass" in available_commands(case, INSPECTOR)
    moved = run(case, "reassign_inspector", LEAD, inspector="inspector02")
    assert moved.pending(RequestKind.CHECK).payload["assignee"] == "inspector02"
    with pytest.raises(Forbidden):
        run(moved, "check_pass", INSPECTOR)
    done = run(moved, "check_pass", other)
    assert done.check_result == "passed" and done.pending(RequestKind.CHECK) is None
    with pytest.raises(PreconditionFailed):  # answered: a second answer finds no task
        run(done, "check_pass", other)


def test_a_pool_task_may_be_answered_by_any_inspector() -> None:
    case = run(handled(), "request_check", AGENT)
    assert case.pending(RequestKind.CHECK).payload["assignee"] is None
    assert run(case, "check_pass", Actor("inspector07", Role.INSPECTOR)).check_result == "passed"


def test_check_photos_are_required_when_the_policy_says_so() -> None:
    strict = replace(POLICY, check_photos_required=True)
    case = run(handled(), "request_check", AGENT)
    with pytest.raises(InvalidParameters, match="照片"):
        apply(case, Command("check_pass", INSPECTOR), MON_9, strict)
    out = apply(case, Command("check_pass", INSPECTOR, params={"photos": ["a" * 32]}), MON_9, strict)
    assert out.event.payload["photos"] == ["a" * 32]


def test_verification_runs_its_own_clock_when_a_limit_is_set() -> None:
    policy = replace(POLICY, stage_limits={**POLICY.stage_limits, Stage.VERIFYING: Limit(2, H)})
    case = apply(run(fresh(), "accept"), Command("request_verification", AGENT), MON_9, policy).case
    clock = case.open_stage(Stage.VERIFYING)
    assert clock is not None and clock.due_at == MON_9 + timedelta(hours=2)
    answered = apply(case, Command("report_verified", INSPECTOR, params={"confirmed": True}), MON_9, policy).case
    assert answered.open_stage(Stage.VERIFYING) is None and answered.verification == "confirmed"
