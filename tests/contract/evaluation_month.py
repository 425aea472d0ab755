"""A synthetic month of cases with known outcomes, walked through the real case service and workflow.

Used by the evaluation tests. Every instant is relative to the test clock; the month is the one containing it.
Cases (department, street) and what happens to them in the month M:
  A (szs, S1) on time · B (szs, S1) handled late and checked late · C (hws, S2) still open and overdue at the end
  D (szs, S2) reworked once, then on time · E (hws, S1) extended, handled after the first but before the new due
  F (szs, S2) 挂账 · G (S1) 立案 then 作废 · H (hws, S2) closed, reopened, closed again on time
  I (szs, S1) dispatched late on the last day of M, handled and closed in M+1 (the period boundary)
  L (szs, S2) dispatched to hws, returned, re-dispatched late to szs, then on time
  R (szs, S1) reported by inspector01, verified in time, on time · K (S2) reported by inspector02, accepted late,
  verified late (rejected), 作废
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.dates import working_morning
from ticketing.db.tables import cases
from ticketing.domain.model import Actor, Role
from ticketing.domain.workflow import Command
from ticketing.evaluation.domain.periods import Period, local_day, period
from ticketing.geo.tables import geo_cells
from ticketing.services import CaseService, NewCase

AGENT, LEAD = Actor("agent01", Role.AGENT), Actor("lead01", Role.LEAD)
DISPATCHER = Actor("dispatcher01", Role.DISPATCHER)
INSPECTOR1, INSPECTOR2 = Actor("inspector01", Role.INSPECTOR), Actor("inspector02", Role.INSPECTOR)
CATEGORY = "10102"  # 污水井盖: 6 紧急工作时, calendar time, so lateness is easy to place
PLACES = {"S1": ("330424001", "330424001001", "33042400100101", "G1"),
          "S2": ("330424002", "330424002001", "33042400200101", "G2")}
M = timedelta(minutes=1)
PHOTO = "0" * 32  # a photo id: 核查 answers carry photos (cases.inspection.check_photos_required)


def dept(code: str) -> Actor:
    return Actor(f"dept-{code}", Role.DEPARTMENT, code)


@dataclass
class Month:
    service: CaseService
    engine: AsyncEngine
    clock: Any
    t0: datetime = field(init=False)
    month: Period = field(init=False)
    end: datetime = field(init=False)
    no: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        tz = self.service.settings.working_time.timezone
        from zoneinfo import ZoneInfo

        self.tz = ZoneInfo(tz)

    async def start(self) -> None:
        """The scenario's day, from the test clock and the app's calendar: a working day at 09:00 local whose
        next day is a working day too (B is checked the next day), with more than three days of its month left
        (I is handled in the next month)."""
        self.t0 = await working_morning(self.service, self.clock, days_left=3, following_workdays=1)
        self.month = period("month", local_day(self.t0, self.tz))
        self.end = self.month.bounds(self.tz)[1]

    @property
    def next_month(self) -> Period:
        return period("month", self.month.end)

    def first_day(self) -> date:
        return self.month.first

    async def act(self, name: str, at: datetime, command: str, actor: Actor, reason: str | None = None,
                  **params: Any) -> Any:
        self.clock.now = at
        return await self.service.act(self.no[name], Command(command, actor, reason=reason, params=params))

    async def create(self, name: str, at: datetime, street: str, *, actor: Actor = AGENT,
                     source: str = "hotline") -> None:
        self.clock.now = at
        created = await self.service.create(NewCase(source, f"演示 {name}", CATEGORY, accept=actor is AGENT), actor)
        self.no[name] = created.case_no
        s, c, cell, _ = PLACES[street]
        async with self.engine.begin() as conn:  # the place as the geocoder would have stored it
            await conn.execute(update(cases).where(cases.c.case_no == created.case_no)
                               .values(street_code=s, community_code=c, cell_code=cell))

    async def prefix(self, name: str, t: datetime, street: str, department: str) -> datetime:
        """Create (accepted), register after 10 min, dispatch after 20 min; returns the dispatch instant."""
        await self.create(name, t, street)
        await self.act(name, t + 10 * M, "register", LEAD)
        await self.act(name, t + 20 * M, "dispatch", DISPATCHER, department=department)
        return t + 20 * M

    async def finish(self, name: str, at: datetime, department: str) -> None:
        """Handled at `at`, checked 10 min and closed 20 min later."""
        await self.act(name, at, "submit_result", dept(department), notes="已处理")
        await self.act(name, at + 10 * M, "request_check", AGENT)
        await self.act(name, at + 10 * M, "check_pass", INSPECTOR1, photos=[PHOTO])
        await self.act(name, at + 20 * M, "close", LEAD)

    async def build(self) -> None:
        await self.start()
        t = self.t0  # a working day, 09:00 local
        d = await self.prefix("A", t, "S1", "szs")
        await self.finish("A", d + 60 * M, "szs")
        d = await self.prefix("B", t, "S1", "szs")
        await self.act("B", d + 7 * 60 * M, "submit_result", dept("szs"), notes="晚了")  # due d + 6 h
        await self.act("B", d + 7 * 60 * M, "request_check", AGENT)
        # the next day, past 4 working hours
        await self.act("B", d + 31 * 60 * M, "check_pass", INSPECTOR1, photos=[PHOTO])
        await self.act("B", d + 31 * 60 * M + 10 * M, "close", LEAD)
        await self.prefix("C", t, "S2", "hws")
        d = await self.prefix("D", t, "S2", "szs")
        await self.act("D", d + 60 * M, "submit_result", dept("szs"), notes="第一次")
        await self.act("D", d + 60 * M, "request_check", AGENT)
        await self.act("D", d + 70 * M, "check_fail", INSPECTOR1, reason="井盖仍松动", photos=[PHOTO])
        await self.finish("D", d + 130 * M, "szs")
        d = await self.prefix("E", t, "S1", "hws")
        await self.act("E", d + 60 * M, "request_extension", dept("hws"), reason="需订购配件", value=4,
                       unit="emergency_hours")
        await self.act("E", d + 70 * M, "approve_extension", DISPATCHER)
        await self.finish("E", d + 8 * 60 * M, "hws")  # after the first due (6 h), before the new one (10 h)
        d = await self.prefix("F", t, "S2", "szs")
        await self.act("F", d + 60 * M, "request_backlog", dept("szs"), reason="需列入改造计划")
        await self.act("F", d + 70 * M, "approve_backlog", DISPATCHER)
        await self.create("G", t, "S1")
        await self.act("G", t + 10 * M, "register", LEAD)
        await self.act("G", t + 20 * M, "invalidate", LEAD, reason="重复上报")
        d = await self.prefix("H", t, "S2", "hws")
        await self.finish("H", d + 60 * M, "hws")
        await self.act("H", d + 90 * M, "reopen", AGENT, reason="市民反映仍未修好")
        await self.finish("H", d + 150 * M, "hws")
        d = await self.prefix("L", t, "S2", "hws")
        await self.act("L", d + 30 * M, "request_return", dept("hws"), reason="不属本单位")
        await self.act("L", d + 40 * M, "approve_return", DISPATCHER)
        await self.act("L", d + 160 * M, "dispatch", DISPATCHER, department="szs")  # 2 h later: past 1 working hour
        await self.finish("L", d + 220 * M, "szs")
        await self.create("R", t, "S1", actor=INSPECTOR1, source="inspector")
        await self.act("R", t + 10 * M, "accept", AGENT)
        await self.act("R", t + 15 * M, "request_verification", AGENT)
        await self.act("R", t + 45 * M, "report_verified", INSPECTOR1, confirmed=True)
        await self.act("R", t + 50 * M, "register", LEAD)
        await self.act("R", t + 55 * M, "dispatch", DISPATCHER, department="szs")
        await self.finish("R", t + 115 * M, "szs")
        await self.create("K", t, "S2", actor=INSPECTOR2, source="inspector")
        await self.act("K", t + 120 * M, "accept", AGENT)  # 受理 limit 0.5 working hours: late
        await self.act("K", t + 125 * M, "request_verification", AGENT)
        await self.act("K", t + 310 * M, "report_verified", INSPECTOR2, confirmed=False)  # over 120 min
        await self.act("K", t + 320 * M, "invalidate", LEAD, reason="核实不属实")
        # I: the boundary. Dispatched 5 h before the month ends (due 1 h after), handled in the next month.
        t = self.end - 320 * M
        d = await self.prefix("I", t, "S1", "szs")
        await self.finish("I", self.end + 30 * M, "szs")
        self.clock.now = self.end + 9 * 60 * M  # the next month is running: evaluated as of now
        async with self.engine.begin() as conn:  # the cells' duty grids (after the cases: no geocoding needed)
            for _, c, cell, grid in PLACES.values():
                await conn.execute(geo_cells.insert().values(
                    code=cell, community_code=c, duty_grid=grid, area_m2=0.0, geometry="{}", min_lon=0, min_lat=0,
                    max_lon=0, max_lat=0))

    def cases(self, *names: str) -> list[str]:
        return sorted(self.no[n] for n in names)
