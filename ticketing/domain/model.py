"""The case aggregate as the workflow sees it: states, roles, stage clocks and approval requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from core.identity import Actor as Actor  # the case model speaks of them; defined in the kernel
from core.identity import Role as Role
from ticketing.domain.calendar import Limit


class State(StrEnum):
    REPORTED = "reported"  # 上报, awaiting intake
    ACCEPTED = "accepted"  # 受理, awaiting 立案
    REGISTERED = "registered"  # 立案, awaiting dispatch
    DISPATCHED = "dispatched"  # 派遣, at a department
    HANDLED = "handled"  # 处置反馈, awaiting on-site check and closing
    CLOSED = "closed"  # 结案
    BACKLOG = "backlog"  # 挂账
    INVALID = "invalid"  # 作废

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS = {
    State.REPORTED: "已上报", State.ACCEPTED: "已受理", State.REGISTERED: "已立案", State.DISPATCHED: "处置中",
    State.HANDLED: "待核查结案", State.CLOSED: "已结案", State.BACKLOG: "挂账", State.INVALID: "已作废",
}


class Stage(StrEnum):
    ACCEPTANCE = "acceptance"  # 受理
    REGISTRATION = "registration"  # 立案
    DISPATCHING = "dispatching"  # 派遣
    HANDLING = "handling"  # 处置
    CHECKING = "checking"  # 核查
    CLOSING = "closing"  # 结案
    VERIFYING = "verifying"  # 核实 (runs beside 立案 while an inspector verifies a report on site)

    @property
    def label(self) -> str:
        return {"acceptance": "受理", "registration": "立案", "dispatching": "派遣", "handling": "处置",
                "checking": "核查", "closing": "结案", "verifying": "核实"}[self.value]


class RequestKind(StrEnum):
    RETURN = "return"  # 回退
    EXTENSION = "extension"  # 延期
    BACKLOG = "backlog"  # 挂账
    INVALIDATION = "invalidation"  # 作废
    VERIFICATION = "verification"  # 核实
    CHECK = "check"  # 核查

    @property
    def label(self) -> str:
        return {"return": "回退", "extension": "延期", "backlog": "挂账", "invalidation": "作废",
                "verification": "核实", "check": "核查"}[self.value]


class RequestState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    DONE = "done"


class Light(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


@dataclass(frozen=True, slots=True)
class StageClock:
    """One stage's limit and due times. yellow_at is when the yellow share of the limit is used."""

    stage: Stage
    started_at: datetime
    due_at: datetime
    yellow_at: datetime
    limit: Limit
    finished_at: datetime | None = None
    paused_at: datetime | None = None
    id: int | None = None

    @property
    def open(self) -> bool:
        return self.finished_at is None

    def light(self, now: datetime) -> Light:
        """Traffic light: green below the yellow share, yellow up to 100 %, red past the due time."""
        at = self.finished_at or self.paused_at or now
        if at > self.due_at:
            return Light.RED
        if at >= self.yellow_at:
            return Light.YELLOW
        return Light.GREEN


@dataclass(frozen=True, slots=True)
class CaseRequest:
    """A request that needs a decision (approval) or an inspector's visit, with its own state."""

    kind: RequestKind
    requested_by: str
    requested_at: datetime
    state: RequestState = RequestState.PENDING
    reason: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class CaseFlow:
    """The part of a case the workflow reads and writes. Everything else (text, place) is not its concern."""

    case_no: str
    state: State
    version: int
    category_code: str
    created_at: datetime
    department_code: str | None = None
    rework_count: int = 0
    reopen_count: int = 0
    extension_count: int = 0
    verification: str | None = None  # None | pending | confirmed | rejected
    check_result: str | None = None  # None | passed | failed
    satisfaction: int | None = None  # 1 满意, 2 基本满意, 3 不满意
    merged_into: str | None = None
    closed_at: datetime | None = None
    stages: tuple[StageClock, ...] = ()
    requests: tuple[CaseRequest, ...] = ()

    def open_stage(self, stage: Stage | None = None) -> StageClock | None:
        for clock in reversed(self.stages):
            if clock.open and (stage is None or clock.stage is stage):
                return clock
        return None

    def pending(self, kind: RequestKind) -> CaseRequest | None:
        for request in self.requests:
            if request.kind is kind and request.state is RequestState.PENDING:
                return request
        return None
