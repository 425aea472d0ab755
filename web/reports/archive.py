"""Publishing the 通报: build the bulletin, render the PDF, keep it in `evaluation_bulletins` (idempotent), and
the first-working-day rule the scheduler follows.

Published once per period and pair of profile versions (a unique key): publishing again returns the row that
exists. `issued` is local midnight of the first working day after the period, so the document carries no
date of the moment it was made and the same data and versions give the same PDF.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db.timeutil import from_db, to_db
from core.errors import NotFound
from ticketing.domain.calendar import WorkCalendar
from ticketing.evaluation.domain.periods import Period, PeriodKind, period
from ticketing.evaluation.domain.scoring import Profile
from ticketing.evaluation.service import EvaluationService
from web.reports import data, pdf
from web.reports.tables import evaluation_bulletins as B

LISTED = (
    B.c.id,
    B.c.period_kind,
    B.c.first_day,
    B.c.last_day,
    B.c.department_profile,
    B.c.department_profile_version,
    B.c.region_profile,
    B.c.region_profile_version,
    B.c.title,
    B.c.as_of,
    B.c.issued_at,
    B.c.generated_at,
    B.c.generated_by,
    B.c.sha256,
    B.c.size,
)


def first_working_day(calendar: WorkCalendar, year: int, month: int) -> date:
    day = date(year, month, 1)
    while not calendar.is_workday(day):
        day += timedelta(days=1)
    return day


def issued_at(calendar: WorkCalendar, p: Period) -> datetime:
    """Local midnight of the first working day after the period (the date printed on the 通报)."""
    day = p.end
    while not calendar.is_workday(day):
        day += timedelta(days=1)
    return datetime.combine(day, time(0), calendar.tz).astimezone(UTC)


def due_month(calendar: WorkCalendar, now: datetime) -> Period | None:
    """The month whose 通报 is due at `now`: last month, from the first working day of this month on."""
    today = now.astimezone(calendar.tz).date()
    if today < first_working_day(calendar, today.year, today.month):
        return None
    return period(PeriodKind.MONTH, today.replace(day=1) - timedelta(days=1))


@dataclass(frozen=True)
class Publisher:
    engine: AsyncEngine
    evaluation: EvaluationService
    calendar: Callable[[], Any]  # async () -> WorkCalendar
    site: str

    def profiles(
        self, department_version: int | None = None, region_version: int | None = None
    ) -> tuple[Profile, Profile]:
        book = self.evaluation.profiles
        dep = book.get(data.DEPARTMENT_PROFILE, department_version)
        region = book.get(data.REGION_PROFILE, region_version)
        if dep is None or region is None:
            raise NotFound("评分方案版本不存在")
        return dep, region

    async def render(self, p: Period, dep: Profile, region: Profile) -> tuple[bytes, data.Bulletin, datetime]:
        bulletin = await data.build(self.engine, self.evaluation, p, department_profile=dep, region_profile=region)
        issued = issued_at(await self.calendar(), p)
        content = await pdf.render_apart(bulletin, site=self.site, issued=issued, tz=self.evaluation.tz)
        return content, bulletin, issued

    async def publish(
        self, p: Period, now: datetime, by: str, dep: Profile | None = None, region: Profile | None = None
    ) -> dict[str, Any]:
        """Publish the period's 通报 (or return the one already published with these profile versions)."""
        if dep is None or region is None:
            dep, region = self.profiles()
        existing = await self.find(p, dep, region)
        if existing is not None:
            return existing
        content, bulletin, issued = await self.render(p, dep, region)
        row = {
            "period_kind": p.kind.value,
            "first_day": p.first,
            "last_day": p.last,
            "department_profile": dep.id,
            "department_profile_version": dep.version,
            "region_profile": region.id,
            "region_profile_version": region.version,
            "title": f"{self.site}数字城管{p.label}工作通报",
            "as_of": to_db(bulletin.as_of),
            "issued_at": to_db(issued),
            "generated_at": to_db(now),
            "generated_by": by,
            "sha256": hashlib.sha256(content).hexdigest(),
            "size": len(content),
            "pdf": content,
        }
        try:
            async with self.engine.begin() as conn:
                await conn.execute(B.insert().values(**row))
        except IntegrityError:  # another process published it meanwhile: theirs stands
            pass
        found = await self.find(p, dep, region)
        assert found is not None
        return found

    async def find(self, p: Period, dep: Profile, region: Profile) -> dict[str, Any] | None:
        stmt = select(*LISTED).where(
            B.c.period_kind == p.kind.value,
            B.c.first_day == p.first,
            B.c.department_profile == dep.id,
            B.c.department_profile_version == dep.version,
            B.c.region_profile == region.id,
            B.c.region_profile_version == region.version,
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return _doc(row) if row else None

    async def any_for(self, p: Period) -> bool:
        stmt = select(B.c.id).where(B.c.period_kind == p.kind.value, B.c.first_day == p.first).limit(1)
        async with self.engine.connect() as conn:
            return (await conn.execute(stmt)).first() is not None

    async def listing(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(*LISTED).order_by(B.c.first_day.desc(), B.c.id.desc()))).mappings()
            return [_doc(r) for r in rows]

    async def content(self, bulletin_id: int) -> tuple[dict[str, Any], bytes] | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(*LISTED, B.c.pdf).where(B.c.id == bulletin_id))).mappings().first()
        return (_doc(row), bytes(row["pdf"])) if row else None

    async def sweep(self, now: datetime) -> dict[str, Any] | None:
        """The scheduler's job: on (or after) the first working day of a month, publish last month's 通报 if
        none is archived yet. Idempotent; a missed day is caught up at the next run."""
        due = due_month(await self.calendar(), now)
        if due is None or await self.any_for(due):
            return None
        return await self.publish(due, now, "scheduler")


def _doc(row: Any) -> dict[str, Any]:
    out = {k: row[k] for k in (c.name for c in LISTED)}
    for k in ("as_of", "issued_at", "generated_at"):
        out[k] = from_db(out[k]).isoformat()
    for k in ("first_day", "last_day"):
        out[k] = out[k].isoformat()
    return out
