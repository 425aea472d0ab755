"""Evaluation use cases: indicators per object and period, scores under a profile, and the drill-down."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.errors import InvalidParameters, NotFound
from core.tables import departments, users
from ticketing.evaluation import attendance, sql
from ticketing.evaluation.domain.attendance import TrailRule
from ticketing.evaluation.domain.catalog import Catalog, Family, Indicator, ObjectKind
from ticketing.evaluation.domain.periods import Period
from ticketing.evaluation.domain.scoring import Figure, Profile, ProfileBook, Score, score
from ticketing.geo.tables import geo_communities, geo_duty_grids, geo_streets


@dataclass(frozen=True)
class ObjectFigures:
    object_id: str
    name: str
    counts: dict[str, int]  # set id -> size
    figures: dict[str, Figure]  # indicator id -> figure


@dataclass(frozen=True)
class Report:
    period: Period
    as_of: datetime
    kind: ObjectKind
    indicators: list[Indicator]
    rows: list[ObjectFigures]


@dataclass(frozen=True)
class Drilldown:
    indicator: Indicator
    object_id: str
    numerator: list[str]
    denominator: list[str] | None


@dataclass
class EvaluationService:
    engine: AsyncEngine
    catalog: Catalog
    profiles: ProfileBook
    tz: ZoneInfo
    clock: Callable[[], datetime]
    # False: from the summary rows the writer keeps (evaluation_case_facts / evaluation_act_facts); True: from
    # the history alone, the reference derivation (tests and the benchmark compare the two).
    history: bool = False

    def as_of(self, period: Period) -> datetime:
        """The instant the period is evaluated at: its end, or now while it is still running (so that nothing
        counts as overdue before it is)."""
        start, end = period.bounds(self.tz)
        return min(end, max(start, self.clock()))

    def window(self, period: Period) -> sql.Window:
        return sql.Window.of(period.bounds(self.tz)[0], self.as_of(period))

    def indicators_for(self, kind: ObjectKind, ids: Sequence[str] = ()) -> list[Indicator]:
        available = self.catalog.for_object(kind)
        if not ids:
            return available
        unknown = [i for i in ids if i not in {a.id for a in available}]
        if unknown:
            raise InvalidParameters(f"指标 {'、'.join(unknown)} 不存在或不适用于{kind.label}")
        return [a for a in available if a.id in ids]

    async def report(self, kind: ObjectKind, period: Period, *, indicators: Sequence[str] = (),
                     only: str | None = None) -> Report:
        """Every indicator of every object of `kind` in the period (or of the one object `only`)."""
        chosen = self.indicators_for(kind, indicators)
        async with self.engine.connect() as conn:
            await _tune(conn)
            return await self._report(conn, kind, period, chosen, only, None)

    async def reports(self, kinds: Sequence[ObjectKind], period: Period) -> dict[ObjectKind, Report]:
        """All indicators of several object kinds for one period; the facts of the cases (and of the acts) are
        derived once into a temporary table and grouped by each kind."""
        if not self.history:
            return await self._grouped_reports(kinds, period)
        window = self.window(period)
        builders = {Family.CASE: (sql.facts_table, lambda: sql.case_facts(window)),
                    Family.POST: (sql.post_facts_table, lambda: sql.post_facts(window, self.catalog.parameters))}
        async with self.engine.connect() as conn:
            await _tune(conn)
            tables: dict[Family, Table] = {}
            try:
                for family, (make, facts) in builders.items():
                    if sum(k.family is family for k in kinds) > 1:
                        tables[family] = table = make()
                        await conn.run_sync(table.create)
                        await conn.execute(table.insert().from_select(list(table.c.keys()), facts()))
                return {k: await self._report(conn, k, period, self.indicators_for(k), None, tables) for k in kinds}
            finally:
                for table in tables.values():
                    await conn.run_sync(table.drop)
                if tables:  # SQLite ran the CREATE outside the transaction: a rollback would undo only the DROP
                    await conn.commit()

    async def _unsettled(self, conn: AsyncConnection, window: sql.Window,
                         kind: ObjectKind | Family) -> list[int] | None:
        """The case family's cases to derive from the history (see sql.facts_case_facts), or None."""
        family = kind if isinstance(kind, Family) else kind.family
        if self.history or family is not Family.CASE:
            return None
        return list((await conn.execute(sql.unsettled_cases(window))).scalars())

    async def _grouped_reports(self, kinds: Sequence[ObjectKind], period: Period) -> dict[ObjectKind, Report]:
        """`reports` from the summary rows: one GROUP BY per family over all its keys at once (into a small
        temporary table), then each kind's figures are sums over that table's rows."""
        window = self.window(period)
        chosen = {k: self.indicators_for(k) for k in kinds}
        async with self.engine.connect() as conn:
            await _tune(conn)
            tables: dict[Family, Table] = {}
            try:
                for family in Family:
                    sets = self.catalog.sets_for([i for k in kinds if k.family is family for i in chosen[k]])
                    if sets:
                        tables[family] = table = sql.grouped_table(family, sets)
                        await conn.run_sync(table.create)
                        unsettled = await self._unsettled(conn, window, family)
                        await conn.execute(table.insert().from_select(list(table.c.keys()), sql.grouped(
                            window, family, self.catalog.parameters, sets, unsettled)))
                result = {}
                for k in kinds:
                    stmt = sql.regroup(tables[k.family], k, self.catalog.sets_for(chosen[k]))
                    result[k] = await self._rows(conn, k, period, chosen[k], None, stmt)
                return result
            finally:
                for table in tables.values():
                    await conn.run_sync(table.drop)
                if tables:  # SQLite ran the CREATE outside the transaction: a rollback would undo only the DROP
                    await conn.commit()

    async def _report(self, conn: AsyncConnection, kind: ObjectKind, period: Period, chosen: list[Indicator],
                      only: str | None, tables: dict[Family, Table] | None) -> Report:
        sets = self.catalog.sets_for(chosen)
        window = self.window(period)
        unsettled = await self._unsettled(conn, window, kind)
        source = sql.source_for(window, kind, self.catalog.parameters, tables, self.history, unsettled)
        stmt = sql.aggregate(source, sets)
        if only is not None:
            stmt = stmt.where(source.key == only)
        return await self._rows(conn, kind, period, chosen, only, stmt)

    async def _rows(self, conn: AsyncConnection, kind: ObjectKind, period: Period, chosen: list[Indicator],
                    only: str | None, stmt: Any) -> Report:
        sets = self.catalog.sets_for(chosen)
        result = (await conn.execute(stmt)).mappings().all()
        measured = await self._measures(conn, chosen, period, only)
        ids = list(dict.fromkeys([*(r["object_id"] for r in result), *measured]))
        names = await _names(conn, kind, ids or ([only] if only else []))
        rows = []
        for r in result:
            counts = {s.id: int(r[s.id] or 0) for s in sets} | measured.pop(r["object_id"], {})
            rows.append(ObjectFigures(r["object_id"], names.get(r["object_id"], r["object_id"]), counts,
                                      _figures(chosen, counts)))
        for object_id, amounts in measured.items():  # on duty without a counted act: still evaluated
            counts = dict.fromkeys((s.id for s in sets), 0) | amounts
            rows.append(ObjectFigures(object_id, names.get(object_id, object_id), counts, _figures(chosen, counts)))
        rows.sort(key=lambda row: row.object_id)
        if only is not None and not rows:  # an object with nothing in the period still gets its zeros
            rows.append(ObjectFigures(only, names.get(only, only), dict.fromkeys((s.id for s in sets), 0),
                                      _figures(chosen, None)))
        return Report(period, self.as_of(period), kind, chosen, rows)

    async def _measures(self, conn: AsyncConnection, chosen: list[Indicator], period: Period,
                        only: str | None) -> dict[str, dict[str, int]]:
        """The attendance measures of inspectors, when a chosen indicator uses them (ticketing/evaluation/
        attendance.py); an open duty counts up to the instant of evaluation."""
        if not any(i.measures for i in chosen):
            return {}
        start, as_of = period.bounds(self.tz)[0], self.as_of(period)
        found = await attendance.attendance(conn, start, as_of, as_of, TrailRule.of(dict(self.catalog.parameters)),
                                            self.tz, None if only is None else [only])
        return {username: attendance.measures(a) for username, a in found.items()}

    async def scores(self, profile: Profile, kind: ObjectKind, period: Period,
                     only: str | None = None) -> tuple[Report, list[Score]]:
        """Scores of every object, best first (ties by object id)."""
        if kind not in profile.objects:
            raise InvalidParameters(f"评分方案“{profile.name}”不适用于{kind.label}")
        ids = list(dict.fromkeys(r.indicator for r in profile.rules))
        report = await self.report(kind, period, indicators=ids, only=only)
        scored = [score(profile, row.object_id, row.figures) for row in report.rows]
        return report, sorted(scored, key=lambda s: (-s.points, s.object_id))

    async def drilldown(self, indicator_id: str, kind: ObjectKind, object_id: str, period: Period) -> Drilldown:
        indicator = self.catalog.indicators.get(indicator_id)
        if indicator is None:
            raise NotFound(f"指标 {indicator_id} 不存在")
        if indicator.numerator not in self.catalog.sets:
            raise InvalidParameters(f"指标“{indicator.name}”来自在岗记录与轨迹，没有案件明细")
        if kind not in indicator.objects:
            raise InvalidParameters(f"指标“{indicator.name}”不适用于{kind.label}")
        window = self.window(period)
        async with self.engine.connect() as conn:
            await _tune(conn)
            unsettled = await self._unsettled(conn, window, kind)
            source = sql.source_for(window, kind, self.catalog.parameters, history=self.history,
                                    unsettled=unsettled)
            lists = []
            for set_id in (indicator.numerator, indicator.denominator):
                if set_id is None or set_id not in self.catalog.sets:
                    lists.append(None)
                    continue
                stmt = sql.drilldown(source, self.catalog.sets[set_id], object_id)
                lists.append(list((await conn.execute(stmt)).scalars()))
        assert lists[0] is not None
        return Drilldown(indicator, object_id, lists[0], lists[1])


async def _tune(conn: AsyncConnection) -> None:
    """PostgreSQL, for this transaction only: no JIT (compiling the ~90 expressions of the facts query cost
    2.5 s of a 1,000,000-case month, more than it saved) and enough work_mem for the per-case hash aggregates
    to stay in memory instead of spilling to disk in batches."""
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql("SET LOCAL jit = off")
        await conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")


def _figures(chosen: list[Indicator], counts: dict[str, int] | None) -> dict[str, Figure]:
    """The indicators' figures from the set sizes (all zero when the object has no row)."""
    def n(set_id: str) -> int:
        return counts.get(set_id, 0) if counts is not None else 0  # no duty record: no measure, 0
    return {i.id: Figure(i.id, i.name, n(i.numerator), n(i.denominator) if i.denominator else None, i.scale, i.unit)
            for i in chosen}


_NAME_SOURCES = {
    ObjectKind.DEPARTMENT: (departments.c.code, departments.c.name),
    ObjectKind.STREET: (geo_streets.c.code, geo_streets.c.name),
    ObjectKind.COMMUNITY: (geo_communities.c.code, geo_communities.c.name),
    ObjectKind.DUTY_GRID: (geo_duty_grids.c.code, geo_duty_grids.c.name),
}


async def _names(conn: AsyncConnection, kind: ObjectKind, ids: list[str]) -> dict[str, str]:
    """Display names of the objects (department, street, community, duty grid, user); unit cells by code."""
    if not ids or kind is ObjectKind.CELL:
        return {}
    key, name = _NAME_SOURCES.get(kind, (users.c.username, users.c.display_name))
    found: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        rows = await conn.execute(select(key, name).where(key.in_(ids[start:start + 500])))
        found.update({k: n for k, n in rows.all()})
    return found
