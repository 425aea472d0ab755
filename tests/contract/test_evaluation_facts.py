"""The summary rows the writer keeps (evaluation_case_facts, evaluation_act_facts) give exactly what the history
gives: random case histories walked through the real case service (reopen, rework, extension, return, 挂账 and
resume, 作废, inspector reports and 核实) over about two months of the test clock, then every object kind's
figures and drill-downs of every day, week and month they touch (past periods and the running one, so cases
with history after a period's end take part) from the summary rows and from the history alone
(`EvaluationService(history=True)`, the reference derivation), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import importlib.util
import random
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select, update

from config.bootstrap import build_case_service, engine_for
from config.settings import Settings
from core.db import migrate
from core.db.engine import write_transaction
from core.errors import DomainError
from ticketing.db.cases_repo import SqlCaseRepository
from ticketing.db.tables import case_history, cases
from ticketing.domain.model import Actor
from ticketing.domain.workflow import Command, available_commands
from ticketing.evaluation import facts as evaluation_facts
from ticketing.evaluation.domain.catalog import ObjectKind
from ticketing.evaluation.domain.periods import Period, local_day, period
from ticketing.evaluation.facts import rebuild
from ticketing.evaluation.files import load_catalog, load_profiles
from ticketing.evaluation.service import EvaluationService, Report
from ticketing.evaluation.tables import evaluation_act_facts, evaluation_case_facts
from ticketing.geo.tables import geo_cells
from ticketing.services import NewCase

from .evaluation_month import AGENT, CATEGORY, DISPATCHER, INSPECTOR1, LEAD, PHOTO, PLACES, dept

MINUTE = timedelta(minutes=1)
STEPS = 300
# Waits between two acts: minutes to days, so that clocks run out (late, overdue) and periods are crossed.
RARE = {"invalidate": 0.15, "reopen": 0.4, "request_backlog": 0.3, "request_return": 0.4}
WAITS = [(2, 25), (20, 25), (120, 20), (540, 20), (2160, 10)]


def menu(rng: random.Random) -> list[tuple[str, Actor, dict[str, Any]]]:
    """Every command the walk may try on a case (the workflow refuses those that do not fit its state)."""
    department = [dept(d) for d in ("szs", "hws")]
    items: list[tuple[str, Actor, dict[str, Any]]] = [
        ("accept", AGENT, {}), ("request_verification", AGENT, {}),
        ("report_verified", INSPECTOR1, {"confirmed": rng.random() < 0.8}),
        ("register", LEAD, {}), ("invalidate", LEAD, {"reason": "重复"}),
        ("dispatch", DISPATCHER, {"department": rng.choice(["szs", "hws"])}),
        ("approve_return", DISPATCHER, {}), ("approve_extension", DISPATCHER, {}),
        ("approve_backlog", DISPATCHER, {}), ("resume", DISPATCHER, {}), ("request_check", AGENT, {}),
        ("check_pass", INSPECTOR1, {"photos": [PHOTO]}),
        ("check_fail", INSPECTOR1, {"photos": [PHOTO], "reason": "仍未修好"}),
        ("close", LEAD, {}), ("reopen", AGENT, {"reason": "市民反映仍未修好"}),
    ]
    for actor in department:
        items += [("acknowledge", actor, {}), ("submit_result", actor, {"notes": "已处理"}),
                  ("submit_result", actor, {"notes": "已处理"}), ("request_return", actor, {"reason": "不属本单位"}),
                  ("request_extension", actor, {"reason": "需订购配件", "value": 4, "unit": "emergency_hours"}),
                  ("request_backlog", actor, {"reason": "需列入改造计划"})]
    return items


async def walk(service: Any, engine: Any, clock: Any, rng: random.Random, steps: int) -> list[str]:
    numbers: list[str] = []
    for _ in range(steps):
        minutes, = rng.choices([w for w, _ in WAITS], [p for _, p in WAITS])
        clock.now += minutes * MINUTE * rng.uniform(0.5, 1.5)
        if not numbers or rng.random() < 0.08:
            inspector = rng.random() < 0.3
            actor = INSPECTOR1 if inspector else AGENT
            created = await service.create(NewCase("inspector" if inspector else "hotline", "随机案件", CATEGORY,
                                                   accept=not inspector), actor)
            numbers.append(created.case_no)
            street, community, cell, _ = PLACES[rng.choice(sorted(PLACES))]
            async with engine.begin() as conn:  # the place as the geocoder would have stored it at creation
                await conn.execute(update(cases).where(cases.c.case_no == created.case_no)
                                   .values(street_code=street, community_code=community, cell_code=cell))
                case_id = (await conn.execute(select(cases.c.id).where(cases.c.case_no == created.case_no))).scalar()
                await evaluation_facts.refresh(conn, case_id)  # as the repository does with every write
            continue
        case_no = rng.choice(numbers)
        async with engine.connect() as conn:
            flow = (await SqlCaseRepository(conn).load(case_no)).flow
        options = [o for o in menu(rng) if o[0] in available_commands(flow, o[1])]
        if not options:
            continue
        name, actor, params = rng.choices(options, [RARE.get(o[0], 1.0) for o in options])[0]
        # Refused, e.g.: a department that does not hold the case, a 核实 task given to another inspector.
        with contextlib.suppress(DomainError):
            await service.act(case_no, Command(name, actor, reason=params.pop("reason", None), params=params))
    return numbers


def periods_touched(first: Any, last: Any, tz: ZoneInfo) -> list[Period]:
    first_day = local_day(first, tz)
    days = [first_day + timedelta(days=i) for i in range((local_day(last, tz) - first_day).days + 1)]
    found: dict[tuple[str, Any], Period] = {}
    for kind, chosen in (("month", days), ("week", days), ("day", days[::3])):
        for day in chosen:
            p = period(kind, day)
            found.setdefault((kind, p.first), p)
    return list(found.values())


def migration_backfill(dialect: str) -> list[str]:
    path = Path(migrate.__file__).parent / "migrations" / "versions" / "0014_evaluation_facts.py"
    spec = importlib.util.spec_from_file_location("migration_0014", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.backfill_sql(dialect)  # type: ignore[no-any-return]


def figures(reports: dict[ObjectKind, Report]) -> dict[ObjectKind, list[tuple[str, dict[str, int]]]]:
    return {k: [(row.object_id, row.counts) for row in r.rows] for k, r in reports.items()}


async def table_rows(engine: Any) -> tuple[list[Any], list[Any]]:
    async with engine.connect() as conn:
        f = (await conn.execute(select(evaluation_case_facts).order_by(evaluation_case_facts.c.case_id))).all()
        a = (await conn.execute(select(evaluation_act_facts).order_by(evaluation_act_facts.c.history_id))).all()
    return list(f), list(a)


@pytest.mark.parametrize("seed", [1, 2])
async def test_summary_rows_give_what_the_history_gives(db_settings: Settings, clock: Any, seed: int) -> None:
    engine = engine_for(db_settings)
    tz = ZoneInfo(db_settings.working_time.timezone)
    rng = random.Random(seed)
    try:
        service = build_case_service(engine, db_settings, clock)
        clock.now -= timedelta(days=50)
        began = clock.now
        await walk(service, engine, clock, rng, STEPS)
        async with engine.begin() as conn:
            for _, community, cell, grid in PLACES.values():
                await conn.execute(geo_cells.insert().values(
                    code=cell, community_code=community, duty_grid=grid, area_m2=0.0, geometry="{}", min_lon=0,
                    min_lat=0, max_lon=0, max_lat=0))
            commands = dict((await conn.execute(select(case_history.c.command, func.count())
                                                .group_by(case_history.c.command))).all())
        # The walk went through (most of) what the indicators care about.
        seen = [n for n in ("check_fail", "reopen", "approve_extension", "approve_return", "approve_backlog",
                            "invalidate", "report_verified") if commands.get(n, 0) > 0]
        assert len(seen) >= 5 and commands.get("close", 0) >= 3, commands
        clock.now += timedelta(hours=3)  # the last period is still running: evaluated as of now
        catalog = load_catalog()
        facts = EvaluationService(engine, catalog, load_profiles(catalog), tz, clock)
        history = EvaluationService(engine, catalog, load_profiles(catalog), tz, clock, history=True)
        chosen = periods_touched(began, clock.now, tz)
        judged = 0
        for p in chosen:
            got, want = await facts.reports(list(ObjectKind), p), await history.reports(list(ObjectKind), p)
            assert figures(got) == figures(want), p
            judged += sum(c["due_close"] + c["due_handle"] for _, c in
                          figures(want)[ObjectKind.DEPARTMENT])
            if p.kind != "month":
                continue
            for kind in ObjectKind:  # one kind at a time (no temporary tables) and the drill-downs
                one, other = await facts.report(kind, p), await history.report(kind, p)
                assert figures({kind: one}) == figures({kind: other}), (p, kind)
                for row in other.rows:
                    for indicator in other.indicators:
                        if indicator.measures:  # attendance figures have no case lists (test_inspector_attendance)
                            continue
                        a = await facts.drilldown(indicator.id, kind, row.object_id, p)
                        b = await history.drilldown(indicator.id, kind, row.object_id, p)
                        assert (a.numerator, a.denominator) == (b.numerator, b.denominator), (p, indicator.id)
        assert judged > 20  # the periods had cases due in them
        # What the writer kept is what a rebuild from the history derives.
        kept = await table_rows(engine)
        async with write_transaction(engine) as conn:
            await rebuild(conn)
        assert await table_rows(engine) == kept
        # And what migration 0014 backfills an existing database with (its own SQL) is the same again.
        async with write_transaction(engine) as conn:
            await conn.execute(delete(evaluation_act_facts))
            await conn.execute(delete(evaluation_case_facts))
            for statement in migration_backfill(engine.dialect.name):
                await conn.exec_driver_sql(statement)
        assert await table_rows(engine) == kept
    finally:
        await engine.dispose()
