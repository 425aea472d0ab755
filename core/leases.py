"""Claim-due-with-lease: how a durable work queue (callbacks, outbox, webhooks today) takes and moves its rows.

A queue is a table whose rows wait in a state until a due time. `claim` moves up to `limit` due rows along one
edge of their lifecycle (e.g. pending --claim--> sending) and sets the due column to the end of the lease:

    SELECT id FROM t WHERE state = :from AND due <= :now ORDER BY due, id LIMIT :n FOR UPDATE SKIP LOCKED
    UPDATE t SET state = :to, due = :lease_until, ... WHERE id IN (:ids) AND state = :from AND due <= :now
        RETURNING id

on PostgreSQL, in one transaction: concurrent claimers skip each other's locked rows. (Folded into one statement,
`WHERE id IN (SELECT … LIMIT … SKIP LOCKED)` lets the planner rescan the subquery per row and claim past the
limit, and a CTE joined back is planned without the primary key: both measured, both worse.) On SQLite it is the
one statement `UPDATE … WHERE id IN (SELECT … LIMIT :n) AND … RETURNING id`, run under the database's single
write lock (SQLite evaluates the uncorrelated subquery once). Either way two workers never hold the same row, and
a row whose worker died is claimable again once its lease has run out (its due column is then in the past
again), through the lifecycle's `lease_expired` edge.

`step` moves one row along an edge: the next state comes from the lifecycle's pure `apply` (an illegal event
raises and writes nothing), the write is a compare-and-set on the old state. With `fence=lease_until` it also
requires the row to still carry that lease: a slow worker whose lease was taken over cannot overwrite the new
holder's work. The lease end is a sufficient owner token — it changes with every claim of a row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.db.timeutil import to_db


@dataclass(frozen=True)
class Claim:
    ids: list[int]
    lease_until: datetime


@dataclass(frozen=True)
class LeaseQueue:
    """One queue: its table, the column holding the due time (and the lease), the lease, the lifecycle."""

    table: Table
    due_column: str
    lease: timedelta
    apply: Callable[[Any, Any], Any] = field(repr=False)  # the lifecycle's pure apply(state, event)
    state_column: str = "state"

    async def any_due(self, engine: AsyncEngine, now: datetime, *states: Any) -> bool:
        """Whether a row in one of `states` is due at `now`, read without a write transaction: an idle sweep
        (the usual case: it runs after every case event) then takes no write lock and writes nothing, so it does
        not queue behind, or hold up, the writers that create cases (SQLite has one writer at a time)."""
        due = self.table.c[self.due_column]
        probe = (select(self.table.c.id).where(self.table.c[self.state_column].in_([str(s) for s in states]),
                                               due <= to_db(now)).limit(1))
        async with engine.connect() as conn:
            return (await conn.execute(probe)).first() is not None

    async def claim(self, conn: AsyncConnection, now: datetime, limit: int, *, state: Any, event: Any,
                    values: Mapping[str, Any] | None = None) -> Claim:
        """Claim up to `limit` rows in `state` due at `now` (oldest first): move them by `event`, lease them."""
        target, until = self.apply(state, event), now + self.lease
        if limit <= 0:
            return Claim([], until)
        key, due = self.table.c.id, self.table.c[self.due_column]
        is_due = self._in(state) & (due <= to_db(now))
        chosen = select(key).where(is_due).order_by(due, key).limit(limit)
        if conn.dialect.name == "postgresql":  # lock, then update by key (see the module docstring)
            ids = list((await conn.execute(chosen.with_for_update(skip_locked=True))).scalars())
            if not ids:
                return Claim([], until)
            which = key.in_(ids)
        else:
            which = key.in_(chosen.scalar_subquery())
        stmt = (update(self.table).where(which, is_due)
                .values({self.state_column: str(target), self.due_column: to_db(until), **(values or {})})
                .returning(key))
        return Claim(sorted((await conn.execute(stmt)).scalars()), until)

    async def step(self, conn: AsyncConnection, row_id: int, state: Any, event: Any, *,
                   fence: datetime | None = None, **values: Any) -> Any | None:
        """Move one row by `event`: the new state, or None when the row is no longer in `state` (or under
        the `fence` lease): another worker or a later claim moved it first, and nothing was written."""
        target = self.apply(state, event)
        where = [self.table.c.id == row_id, self._in(state)]
        if fence is not None:
            where.append(self.table.c[self.due_column] == to_db(fence))
        result = await conn.execute(update(self.table).where(*where).values(
            {self.state_column: str(target), **values}))
        return target if result.rowcount else None

    def _in(self, state: Any) -> ColumnElement[bool]:
        return self.table.c[self.state_column] == str(state)
