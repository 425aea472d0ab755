"""Flows as data: the validated, frozen description of what the hotline and the survey say and accept.

`InboundFlow` and `SurveyFlow` are pydantic models (frozen, unknown keys refused). Build them with
`ivr.loader.load_inbound_flow()` / `load_survey_flow()` (YAML in ivr/flows/) or directly from a dict with
`parse_flow(InboundFlow, data, source)`, which turns validation errors into one readable `FlowError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.settings import known_time_zone

MENU_KEYS = frozenset("0123456789*")
Answer = Literal["satisfied", "basically_satisfied", "dissatisfied"]

# Ticketing state value -> prompt id (ticketing.domain.model.State). 处理中 covers dispatched work orders,
# 待核查 a department's reported result waiting for the on-site check.
DEFAULT_CASE_STATES = {
    "reported": "state_reported",
    "accepted": "state_accepted",
    "registered": "state_registered",
    "dispatched": "state_handling",
    "handled": "state_checking",
    "closed": "state_closed",
    "backlog": "state_backlog",
    "invalid": "state_invalid",
}


class FlowError(ValueError):
    """A flow file is invalid; the message names the file and every bad key."""


class FlowModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _clock(value: str) -> time | None:
    """'HH:MM' -> time; '24:00' -> None (end of day)."""
    if value == "24:00":
        return None
    try:
        return datetime.strptime(value, "%H:%M").time()
    except ValueError as exc:
        raise ValueError(f"{value!r} is not HH:MM") from exc


class ServicePeriod(FlowModel):
    days: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)  # ISO weekdays, Monday = 1
    start: str = "00:00"
    end: str = "24:00"

    @model_validator(mode="after")
    def _check(self) -> ServicePeriod:
        if not self.days or any(d not in range(1, 8) for d in self.days):
            raise ValueError("days must be ISO weekdays 1..7")
        start, end = _clock(self.start), _clock(self.end)
        if start is None or (end is not None and end <= start):
            raise ValueError(f"period {self.start}-{self.end} must end after it starts")
        return self

    def contains(self, local: datetime) -> bool:
        start, end = _clock(self.start), _clock(self.end)
        now = local.time().replace(tzinfo=None)
        return local.isoweekday() in self.days and start <= now and (end is None or now < end)  # type: ignore[operator]


class ServiceHours(FlowModel):
    """When agents answer. No periods = 7×24 (the GB/T 33358 default for 12319)."""

    timezone: str = "Asia/Shanghai"
    periods: tuple[ServicePeriod, ...] = ()
    closed_dates: tuple[date, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return known_time_zone(value)

    def local(self, now: datetime) -> datetime:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return now.astimezone(ZoneInfo(self.timezone))

    def is_open(self, now: datetime) -> bool:
        local = self.local(now)
        if local.date() in self.closed_dates:
            return False
        return not self.periods or any(p.contains(local) for p in self.periods)


class MenuOption(FlowModel):
    do: Literal["report", "case_query", "agent", "repeat"]
    queue: str | None = None  # overrides the flow's queue for this option


class InputSettings(FlowModel):
    first_digit_timeout_s: float = Field(6.0, gt=0)
    interdigit_timeout_s: float = Field(4.0, gt=0)
    retries: int = Field(2, ge=0, le=5)  # attempts after the first one; then an agent (or give up)


class RecordingSettings(FlowModel):
    max_seconds: int = Field(60, ge=5, le=600)
    min_seconds: float = Field(1.0, ge=0)  # shorter recordings count as "nothing said"


class QueueSettings(FlowModel):
    queue: str = "hotline"
    priority_base: int = 0
    priority_repeat_caller: int = 10
    announce_position: bool = True
    callback_offer: bool = True
    offer_after_s: float = Field(120.0, gt=0)  # offer a callback once the caller has waited this long
    offer_if_estimate_over_s: float = Field(180.0, gt=0)  # ... or at once when the estimate is this long


class CaseQuerySettings(FlowModel):
    min_digits: int = Field(12, ge=1)
    max_digits: int = Field(16, ge=1)
    states: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_CASE_STATES))

    @model_validator(mode="after")
    def _bounds(self) -> CaseQuerySettings:
        if self.max_digits < self.min_digits:
            raise ValueError("max_digits must be >= min_digits")
        return self


def _check_prompt_ids(ids: Iterable[str], catalogue: Mapping[str, object] | None, where: str) -> None:
    if catalogue is None:
        return
    missing = sorted(set(ids) - set(catalogue))
    if missing:
        raise ValueError(f"{where}: unknown prompt ids {', '.join(missing)}")


class InboundFlow(FlowModel):
    """The 12319 inbound flow. `mode: direct` skips the menu (GB/T 33358 discourages IVR menus)."""

    name: str = "hotline"
    mode: Literal["menu", "direct"] = "menu"
    hours: ServiceHours = ServiceHours()
    blocklist: frozenset[str] = frozenset()
    menu: dict[str, MenuOption] = Field(
        default_factory=lambda: {
            "1": MenuOption(do="report"),
            "2": MenuOption(do="case_query"),
            "0": MenuOption(do="agent"),
        }
    )
    input: InputSettings = InputSettings()
    recording: RecordingSettings = RecordingSettings()
    queue: QueueSettings = QueueSettings()
    case_query: CaseQuerySettings = CaseQuerySettings()

    @field_validator("menu")
    @classmethod
    def _menu(cls, value: dict[str, MenuOption]) -> dict[str, MenuOption]:
        bad = sorted(k for k in value if k not in MENU_KEYS)
        if bad:
            raise ValueError(f"menu keys must be one of 0-9 or *, got {bad}")
        if not any(o.do == "agent" for o in value.values()):
            raise ValueError("the menu must offer an agent (GB/T 33358)")
        return value

    def check_prompts(self, catalogue: Mapping[str, object] | None) -> None:
        _check_prompt_ids(self.case_query.states.values(), catalogue, "case_query.states")


class SurveyFlow(FlowModel):
    """The satisfaction survey read on outbound callbacks (一事一评)."""

    name: str = "survey"
    answers: dict[str, Answer] = Field(
        default_factory=lambda: {"1": "satisfied", "2": "basically_satisfied", "3": "dissatisfied"}
    )
    ask_reason_for: frozenset[Answer] = frozenset({"dissatisfied"})
    input: InputSettings = InputSettings(first_digit_timeout_s=8.0)
    recording: RecordingSettings = RecordingSettings()
    case_states: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_CASE_STATES))

    @field_validator("answers")
    @classmethod
    def _answers(cls, value: dict[str, Answer]) -> dict[str, Answer]:
        bad = sorted(k for k in value if k not in MENU_KEYS)
        if bad or not value:
            raise ValueError(f"answer keys must be one of 0-9 or *, got {bad or 'none'}")
        return value

    def check_prompts(self, catalogue: Mapping[str, object] | None) -> None:
        _check_prompt_ids(self.case_states.values(), catalogue, "case_states")


FlowT = TypeVar("FlowT", InboundFlow, SurveyFlow)


def parse_flow(model: type[FlowT], data: Any, source: str = "<flow>") -> FlowT:
    """Validate `data` as `model`; raise `FlowError` naming `source` and every problem."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors())
        raise FlowError(f"{source}: {problems}") from None
