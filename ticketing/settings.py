"""The case platform's settings: the working calendar and the stage limits and clocks of cases."""

from __future__ import annotations

from typing import Protocol

from pydantic import Field, field_validator

from core.settings import Section, known_time_zone


class WorkingTimeSettings(Section):
    """The working calendar that 工作时/工作日 limits run on."""

    timezone: str = "Asia/Shanghai"
    periods: tuple[tuple[str, str], ...] = (("08:30", "12:00"), ("13:30", "17:30"))
    workdays: tuple[int, ...] = (1, 2, 3, 4, 5)  # ISO weekdays, Monday = 1
    use_official_holidays: bool = True

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        return known_time_zone(value)

    @field_validator("periods")
    @classmethod
    def _periods_ordered(cls, value: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        last = -1
        for start, end in value:
            a, b = _minutes(start), _minutes(end)
            if not last < a < b:
                raise ValueError(f"period {start}-{end} must be HH:MM-HH:MM, ordered and not overlapping")
            last = b
        if not value:
            raise ValueError("at least one working period is needed")
        return value

    @field_validator("workdays")
    @classmethod
    def _iso_days(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(d < 1 or d > 7 for d in value):
            raise ValueError("ISO weekdays 1 (Monday) to 7 (Sunday), at least one")
        return value


class StageLimitSettings(Section):
    """Limits of the stages that do not depend on the category, as (value, unit)."""

    acceptance: tuple[float, str] = (0.5, "working_hours")
    registration: tuple[float, str] = (2, "working_hours")
    dispatching: tuple[float, str] = (1, "working_hours")
    checking: tuple[float, str] = (4, "working_hours")
    closing: tuple[float, str] = (2, "working_hours")
    rework: tuple[float, str] = (1, "working_days")
    verifying: tuple[float, str] = (2, "working_hours")


class InspectionSettings(Section):
    """The inspectors' work on site (城管通): photos, distance to the case, positions, skipped steps."""

    check_photos_required: bool = True  # 核查 answers carry at least one photo
    verification_photos_required: bool = False  # 核实 answers carry at least one photo
    far_m: float = Field(200.0, gt=0)  # an answer given farther than this from the case is flagged
    position_interval_s: int = Field(60, ge=10, le=3600)  # the phone's position while on duty
    county_margin_m: float = Field(3000.0, ge=0)  # positions farther than this outside the grid are refused
    # Small classes whose inspector reports go straight to 立案 when the inspector confirms the class's
    # 立案条件 on the report (skipping 受理 and 立案 by people); empty: none (the default).
    register_directly: tuple[str, ...] = ()


class CaseSettings(Section):
    county_code: str = Field("330424", pattern=r"^\d{6}$")
    county_name: str = "海盐县"
    limits: StageLimitSettings = StageLimitSettings()
    yellow_at: float = Field(0.8, gt=0, lt=1)
    reopen_window_days: int = Field(30, ge=0)
    inspection: InspectionSettings = InspectionSettings()


def _minutes(hhmm: str) -> int:
    try:
        hours, minutes = hhmm.split(":")
        value = int(hours) * 60 + int(minutes)
    except ValueError as exc:
        raise ValueError(f"{hhmm!r} is not HH:MM") from exc
    if not 0 <= value <= 24 * 60:
        raise ValueError(f"{hhmm!r} is outside 00:00-24:00")
    return value


class TicketingSettings(Protocol):
    """The sections the case service reads; the root settings (config/settings.py) have them."""

    @property
    def cases(self) -> CaseSettings: ...

    @property
    def working_time(self) -> WorkingTimeSettings: ...
