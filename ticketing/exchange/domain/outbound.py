"""Outbound bodies: a step's canonical values, through the profile, into the platform's JSON."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ticketing.exchange.domain.profile import Profile, put


def render(profile: Profile, step: str, values: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(path, body) of one outbound message. Datetimes are written in the profile's format and zone; a
    canonical value the step does not have is written as null (the platform's spec decides if it may be)."""
    spec = profile.steps[step]
    body: dict[str, Any] = {}
    merged = {"step_code": spec.code, "unit_code": profile.unit_code, **values}
    for external, name in {**profile.common, **spec.fields}.items():
        put(body, external, _format(profile, merged.get(name)))
    return spec.path, body


def _format(profile: Profile, value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(profile.time_zone)).strftime(profile.time_format)
    return value


def suggest_category(
    category: str | None, text: str, mapped: Mapping[str, str], names: Iterable[tuple[str, str]], default: str
) -> tuple[str, str]:
    """(our small class, basis): the profile's code table first (exact 诉求分类 code or path, then its last
    level), then the longest class name found in the text, then the site's default class. The case is
    created unaccepted, so an agent confirms or changes the suggestion."""
    if category:
        if category in mapped:
            return mapped[category], "code_table"
        last = category.replace("/", "-").replace(">", "-").split("-")[-1].strip()
        if last in mapped:
            return mapped[last], "code_table"
    best: tuple[int, str] | None = None
    for code, name in names:
        if name and name in text and (best is None or len(name) > best[0]):
            best = (len(name), code)
    if best is not None:
        return best[1], "keyword"
    return default, "default"
