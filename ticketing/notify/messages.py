"""Citizen message texts from jinja2 templates: per event, overridable per category and per site.

Lookup order for event E of category C: `<site>/category/C/E.j2`, `<site>/E.j2`, then the shipped
`templates/category/C/E.j2` and `templates/E.j2`. Templates get case_no, category_name, department_name,
result, due, address and county_name.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

SHIPPED = Path(__file__).resolve().parent / "templates"
EVENTS = ("accepted", "dispatched", "closed", "survey")


class MessageTemplates:
    def __init__(self, site_dir: str | None = None) -> None:
        loaders = [FileSystemLoader(site_dir)] if site_dir else []
        self._env = Environment(loader=ChoiceLoader([*loaders, FileSystemLoader(SHIPPED)]),
                                undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)

    def render(self, event: str, category_code: str, context: Mapping[str, Any]) -> str:
        """The message for one event; raises KeyError for an event without a template."""
        names = [f"category/{category_code}/{event}.j2", f"{event}.j2"]
        try:
            template = self._env.select_template(names)
        except TemplateNotFound as exc:
            raise KeyError(f"no message template for event {event!r}") from exc
        return " ".join(template.render(**_defaults(context)).split())


def _defaults(context: Mapping[str, Any]) -> dict[str, Any]:
    base = {"county_name": "", "category_name": "", "department_name": "相关部门", "result": "", "due": "",
            "address": ""}
    return {**base, **{k: v for k, v in context.items() if v is not None}}
