"""The IVR's progress query against the real case core: case number → state and deadline.

The deadline read to the caller is the due time of the case's open stage (the stage clock that is still
running); a closed or invalid case has none. Reads only; datetimes come back as stored (naive UTC).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.session_events import CaseStatus
from ticketing.db.tables import case_stages, cases

CaseLookup = Callable[[str], Awaitable[CaseStatus | None]]


def sql_case_lookup(engine: AsyncEngine) -> CaseLookup:
    """A `case_lookup(case_no) -> CaseStatus | None` reading the ticketing tables through `engine`."""

    async def lookup(case_no: str) -> CaseStatus | None:
        open_stage = (
            sa.select(case_stages.c.due_at)
            .where(case_stages.c.case_id == cases.c.id, case_stages.c.finished_at.is_(None))
            .order_by(case_stages.c.started_at.desc())
            .limit(1)
            .scalar_subquery()
        )
        query = sa.select(cases.c.case_no, cases.c.state, open_stage.label("due_at")).where(
            cases.c.case_no == case_no)
        async with engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return CaseStatus(case_no=row.case_no, state=row.state, deadline=row.due_at)

    return lookup
