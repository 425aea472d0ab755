"""Reference data: categories and departments, read from data files into editable tables, cached for use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from core.tables import departments
from ticketing.db.tables import categories
from ticketing.domain.calendar import Limit, LimitUnit
from ticketing.domain.dispatch import ResponsibleBy, ResponsibleRule

KIND_DIGIT = {"component": "1", "event": "2"}


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    kind: str
    major_code: str
    major_name: str
    minor_code: str
    name: str
    register_condition: str
    close_condition: str
    limit: Limit
    responsible: ResponsibleRule
    emergency: bool
    active: bool = True

    @property
    def kind_label(self) -> str:
        return "部件" if self.kind == "component" else "事件"


@dataclass(frozen=True)
class ReferenceData:
    categories: Mapping[str, Category]
    departments: Mapping[str, str]  # code -> name (active ones)
    department_kinds: Mapping[str, str]


def category_rows(path: Path) -> list[dict[str, Any]]:
    """Expand the category file (major classes with defaults) into one row per small class."""
    rows = []
    for major in yaml.safe_load(path.read_text(encoding="utf-8")):
        defaults = major.get("defaults", {})
        for item in major["classes"]:
            spec = {**defaults, **item}
            responsible = spec["responsible"]
            rows.append({
                "code": KIND_DIGIT[major["kind"]] + item["code"], "kind": major["kind"],
                "major_code": major["code"], "major_name": major["name"], "minor_code": item["code"],
                "name": item["name"],
                "register_condition": spec["register"].format(name=item["name"]),
                "close_condition": spec["close"].format(name=item["name"]),
                "limit_value": float(spec["limit"][0]), "limit_unit": LimitUnit(spec["limit"][1]).value,
                "responsible_by": ResponsibleBy(responsible["by"]).value,
                "responsible_department": responsible.get("department"),
                "emergency": bool(spec.get("emergency", False)), "active": True,
            })
    return rows


def department_rows(path: Path) -> list[dict[str, Any]]:
    return [{**row, "active": True, "demo": True} for row in yaml.safe_load(path.read_text(encoding="utf-8"))]


async def seed_reference(conn: AsyncConnection, data_dir: Path) -> dict[str, int]:
    """Insert categories and departments that are missing; rows administrators edited stay as they are."""
    added = {}
    for table, rows in ((departments, department_rows(data_dir / "departments.yaml")),
                        (categories, category_rows(data_dir / "categories.yaml"))):
        existing = set((await conn.execute(select(table.c.code))).scalars())
        new_rows = [r for r in rows if r["code"] not in existing]
        if new_rows:
            await conn.execute(table.insert(), new_rows)
        added[table.name] = len(new_rows)
    return added


async def load_reference(conn: AsyncConnection) -> ReferenceData:
    cats = {}
    for row in (await conn.execute(select(categories))).mappings():
        cats[row["code"]] = Category(
            code=row["code"], kind=row["kind"], major_code=row["major_code"], major_name=row["major_name"],
            minor_code=row["minor_code"], name=row["name"], register_condition=row["register_condition"],
            close_condition=row["close_condition"],
            limit=Limit(row["limit_value"], LimitUnit(row["limit_unit"])),
            responsible=ResponsibleRule(ResponsibleBy(row["responsible_by"]), row["responsible_department"]),
            emergency=row["emergency"], active=row["active"])
    deps = (await conn.execute(select(departments).where(departments.c.active.is_(True)))).mappings().all()
    return ReferenceData(cats, {d["code"]: d["name"] for d in deps}, {d["code"]: d["kind"] for d in deps})
