"""What goes into the workflow and what comes out: commands, the policy, events and history entries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ticketing.domain.calendar import Limit, WorkCalendar
from ticketing.domain.model import Actor, CaseFlow, Role, Stage, State


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
    check_photos_required: bool = False  # 核查 answers must carry photos (the service sets it from settings)
    verification_photos_required: bool = False  # 核实 answers must carry photos


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
