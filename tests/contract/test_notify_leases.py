"""The generic claim-with-lease on SQLite and PostgreSQL, and each delivery queue surviving a crash mid-delivery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from config.bootstrap import create_app, engine_for
from config.settings import Settings
from core.db.engine import write_transaction
from core.db.timeutil import to_db
from tests.dates import callable_at
from ticketing.db.tables import cases
from ticketing.notify import outbox, webhooks
from ticketing.notify import scheduled_callbacks as cb
from ticketing.notify.channels import LogChannel
from ticketing.notify.domain.lifecycle import IllegalTransition
from ticketing.notify.domain.outbox_lifecycle import OutboxEvent, OutboxState
from ticketing.notify.fakes import FakeDialer, drive, new_case, to_closed, to_dispatched
from ticketing.notify.settings import NotifySettings
from ticketing.notify.tables import callbacks, webhook_deliveries
from ticketing.notify.tables import outbox as outbox_table
from web.keys import CASES, ENGINE, NOTIFY_CONFIG, RUNNING

Q, S, E = outbox.QUEUE, OutboxState, OutboxEvent


class Crash(BaseException):
    """The process dies in the middle of a delivery (nothing catches it, nothing is written afterwards)."""


@pytest.fixture
async def engine(db_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = engine_for(db_settings)
    yield engine
    await engine.dispose()


async def queued(engine: AsyncEngine, now: datetime, count: int) -> list[int]:
    messages = [outbox.OutboxMessage(f"lease-{i}", None, "test", "internal", "lead", "lead01", f"消息{i}", now)
                for i in range(count)]
    async with write_transaction(engine) as conn:
        await outbox.enqueue_many(conn, messages)
        return list((await conn.execute(select(outbox_table.c.id).order_by(outbox_table.c.id))).scalars())


async def row(engine: AsyncEngine, row_id: int) -> dict[str, Any]:
    async with engine.connect() as conn:
        found = await conn.execute(select(outbox_table).where(outbox_table.c.id == row_id))
        return dict(found.mappings().one())


async def test_two_claimers_never_get_the_same_row(db_settings: Settings, engine: AsyncEngine, clock: Any) -> None:
    ids = await queued(engine, clock(), 40)
    workers = [engine_for(db_settings) for _ in range(3)]  # separate pools: on SQLite, separate writers too

    async def claimer(worker: AsyncEngine) -> list[int]:
        mine: list[int] = []
        while True:
            async with worker.begin() as conn:
                claim = await Q.claim(conn, clock(), 3, state=S.PENDING, event=E.CLAIM)
            if not claim.ids:
                return mine
            mine += claim.ids
            await asyncio.sleep(0)

    try:
        results = await asyncio.gather(*(claimer(w) for w in workers))
    finally:
        for worker in workers:
            await worker.dispose()
    claimed = [i for result in results for i in result]
    assert sorted(claimed) == ids  # every row once: no row twice, none lost
    assert all(r["state"] == "sending" for r in [await row(engine, i) for i in ids])


async def test_a_claim_takes_at_most_its_limit_oldest_first(engine: AsyncEngine, clock: Any) -> None:
    ids = await queued(engine, clock(), 10)
    async with write_transaction(engine) as conn:  # a later due time sorts behind the others
        await conn.execute(update(outbox_table).where(outbox_table.c.id == ids[0]).values(
            next_attempt_at=to_db(clock() + timedelta(seconds=1))))
    clock.advance(seconds=1)
    async with write_transaction(engine) as conn:
        assert (await Q.claim(conn, clock(), 3, state=S.PENDING, event=E.CLAIM)).ids == ids[1:4]
        assert (await Q.claim(conn, clock(), 0, state=S.PENDING, event=E.CLAIM)).ids == []
        assert (await Q.claim(conn, clock(), 100, state=S.PENDING, event=E.CLAIM)).ids == [ids[0], *ids[4:]]


async def test_an_expired_lease_is_claimable_again_and_only_then(engine: AsyncEngine, clock: Any) -> None:
    [row_id] = await queued(engine, clock(), 1)
    async with write_transaction(engine) as conn:
        first = await Q.claim(conn, clock(), 10, state=S.PENDING, event=E.CLAIM)
    assert first.ids == [row_id] and first.lease_until == clock() + outbox.LEASE
    clock.advance(seconds=outbox.LEASE.total_seconds() - 1)
    async with write_transaction(engine) as conn:
        assert (await Q.claim(conn, clock(), 10, state=S.SENDING, event=E.LEASE_EXPIRED)).ids == []
        assert (await Q.claim(conn, clock(), 10, state=S.PENDING, event=E.CLAIM)).ids == []
    clock.advance(seconds=1)
    async with write_transaction(engine) as conn:
        again = await Q.claim(conn, clock(), 10, state=S.SENDING, event=E.LEASE_EXPIRED)
    assert again.ids == [row_id] and again.lease_until > first.lease_until
    assert (await row(engine, row_id))["state"] == "sending"


async def test_any_due_sees_due_pending_and_expired_leases_only(engine: AsyncEngine, clock: Any) -> None:
    assert not await Q.any_due(engine, clock(), S.SENDING, S.PENDING)  # empty queue
    [row_id] = await queued(engine, clock() + timedelta(minutes=5), 1)  # due later
    assert not await Q.any_due(engine, clock(), S.SENDING, S.PENDING)
    clock.advance(minutes=5)
    assert await Q.any_due(engine, clock(), S.PENDING)
    async with write_transaction(engine) as conn:
        assert (await Q.claim(conn, clock(), 10, state=S.PENDING, event=E.CLAIM)).ids == [row_id]
    assert not await Q.any_due(engine, clock(), S.SENDING, S.PENDING)  # leased: not due until the lease ends
    clock.advance(seconds=outbox.LEASE.total_seconds())
    assert await Q.any_due(engine, clock(), S.SENDING) and not await Q.any_due(engine, clock(), S.PENDING)


async def test_an_idle_sweep_writes_nothing(engine: AsyncEngine, clock: Any, db_settings: Settings) -> None:
    """After every case event the sweeps run; with nothing due they must not open a write transaction (on SQLite
    that queues behind, and holds up, the writers creating cases: bench.cases lost 10-15 % to it)."""
    from sqlalchemy import event

    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    cfg = NotifySettings()
    assert (await outbox.deliver_outbox(engine, cfg, LogChannel(), clock())).sent == 0
    assert (await webhooks.deliver_webhooks(engine, cfg, lambda: None, clock())).delivered == 0  # type: ignore[arg-type]
    due = await cb.claim_due(engine, clock(), 10)
    assert (due.to_dial, due.unanswered, due.undecided) == ([], [], [])
    assert statements and set(statements) == {"SELECT"}


async def test_a_worker_that_lost_its_lease_writes_nothing(engine: AsyncEngine, clock: Any) -> None:
    [row_id] = await queued(engine, clock(), 1)
    async with write_transaction(engine) as conn:
        slow = await Q.claim(conn, clock(), 10, state=S.PENDING, event=E.CLAIM)
    clock.advance(minutes=outbox.LEASE.total_seconds() / 60)
    async with write_transaction(engine) as conn:
        fast = await Q.claim(conn, clock(), 10, state=S.SENDING, event=E.LEASE_EXPIRED)
        assert await Q.step(conn, row_id, S.SENDING, E.SENT, fence=slow.lease_until, provider="slow") is None
        assert await Q.step(conn, row_id, S.SENDING, E.SENT, fence=fast.lease_until, provider="fast") is S.SENT
    assert ((await row(engine, row_id))["state"], (await row(engine, row_id))["provider"]) == ("sent", "fast")


async def test_an_illegal_event_raises_and_leaves_the_row_as_it_was(engine: AsyncEngine, clock: Any) -> None:
    [row_id] = await queued(engine, clock(), 1)
    before = await row(engine, row_id)
    async with write_transaction(engine) as conn:
        with pytest.raises(IllegalTransition):
            await Q.step(conn, row_id, S.PENDING, E.SENT, provider="nobody")  # never claimed: cannot be sent
        assert await Q.step(conn, row_id, S.SENDING, E.SENT, provider="nobody") is None  # not in that state
    assert await row(engine, row_id) == before


class CrashingChannel(LogChannel):
    async def send(self, number: str, text: str, now: datetime) -> None:
        raise Crash


async def test_outbox_message_of_a_crashed_sender_is_sent_after_the_lease(engine: AsyncEngine, clock: Any) -> None:
    cfg = NotifySettings(scheduler_enabled=False)
    message = outbox.OutboxMessage("k", None, "test", "sms", "citizen", "13800000000", "短信", clock())
    await outbox.enqueue(engine, message)
    with pytest.raises(Crash):
        await outbox.deliver_outbox(engine, cfg, CrashingChannel(), clock())
    channel = LogChannel()
    assert (await outbox.deliver_outbox(engine, cfg, channel, clock())).sent == 0  # still leased
    clock.advance(minutes=outbox.LEASE.total_seconds() / 60)
    assert (await outbox.deliver_outbox(engine, cfg, channel, clock())).sent == 1
    async with engine.connect() as conn:
        state, attempts = (await conn.execute(select(outbox_table.c.state, outbox_table.c.attempts))).one()
    assert (state, attempts, channel.sent) == ("sent", 1, [("13800000000", "短信")])


class Answer:
    status = 204

    async def __aenter__(self) -> Answer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


class Receiver:
    """Stands in for aiohttp.ClientSession: records the POSTs, or crashes the sender at the first one."""

    def __init__(self, crash: bool) -> None:
        self.crash, self.posted = crash, []  # type: list[str]

    def post(self, url: str, **kwargs: Any) -> Answer:
        if self.crash:
            raise Crash
        self.posted.append(url)
        return Answer()


async def test_webhook_of_a_crashed_sender_is_delivered_after_the_lease(db_settings: Settings, clock: Any,
                                                                        aiohttp_client: Any) -> None:
    app = create_app(db_settings, clock=clock)
    app[NOTIFY_CONFIG] = cfg = NotifySettings(scheduler_enabled=False, webhook_allow_http=True,
                                              webhook_allow_private=True)  # the receiver stands in on loopback
    client: TestClient = await aiohttp_client(app)
    engine = app[ENGINE]
    await webhooks.save_webhook(engine, "zfj", "http://127.0.0.1:9/hook", "dept-secret-0123", True, "admin", clock())
    await drive(app[CASES], await new_case(app[CASES]), to_dispatched())
    await client.app[RUNNING].notify.settled()  # type: ignore[union-attr]
    with pytest.raises(Crash):
        await webhooks.deliver_webhooks(engine, cfg, lambda: Receiver(crash=True), clock())  # type: ignore[arg-type]
    receiver = Receiver(crash=False)
    assert (await webhooks.deliver_webhooks(engine, cfg, lambda: receiver, clock())).delivered == 0  # type: ignore
    clock.advance(minutes=webhooks.LEASE.total_seconds() / 60)
    assert (await webhooks.deliver_webhooks(engine, cfg, lambda: receiver, clock())).delivered == 1  # type: ignore
    async with engine.connect() as conn:
        state, attempts = (await conn.execute(select(webhook_deliveries.c.state, webhook_deliveries.c.attempts))).one()
    assert (state, attempts, receiver.posted) == ("delivered", 1, ["http://127.0.0.1:9/hook"])


async def test_a_survey_call_lost_with_its_process_is_dialled_again(db_settings: Settings, clock: Any,
                                                                    aiohttp_client: Any) -> None:
    app = create_app(db_settings, clock=clock)
    app[NOTIFY_CONFIG] = NotifySettings(scheduler_enabled=False, callback_retry_interval_min=20)
    app[RUNNING].call_control = dialer = FakeDialer()
    client: TestClient = await aiohttp_client(app)
    service = client.app[RUNNING].notify
    assert service is not None
    await drive(app[CASES], await new_case(app[CASES]), to_closed())
    await service.settled()
    clock.now = callable_at(service, clock.now + timedelta(minutes=31))  # due, inside the calling window
    assert await service.run_due_callbacks(clock()) == 1  # dialled; then the runtime dies, nobody reports
    clock.advance(minutes=cb.CALL_LEASE.total_seconds() / 60 - 1)
    assert await service.run_due_callbacks(clock()) == 0
    async with app[ENGINE].connect() as conn:
        assert (await conn.execute(select(callbacks.c.state))).scalar_one() == "calling"
    clock.advance(minutes=1)  # the lease ran out: counted as unanswered, tried again later
    await service.run_due_callbacks(clock())
    async with app[ENGINE].connect() as conn:
        assert (await conn.execute(select(callbacks.c.state, callbacks.c.attempts))).one() == ("pending", 1)
    clock.advance(minutes=21)
    assert await service.run_due_callbacks(clock()) == 1 and len(dialer.calls) == 2
    async with app[ENGINE].connect() as conn:
        assert (await conn.execute(select(callbacks.c.state, callbacks.c.attempts))).one() == ("calling", 2)


async def test_a_survey_decision_lost_with_its_process_is_made_again_from_the_stored_answer(
        db_settings: Settings, clock: Any, aiohttp_client: Any) -> None:
    app = create_app(db_settings, clock=clock)
    app[NOTIFY_CONFIG] = NotifySettings(scheduler_enabled=False)
    app[RUNNING].call_control = dialer = FakeDialer()
    client: TestClient = await aiohttp_client(app)
    service = client.app[RUNNING].notify
    assert service is not None
    case_no = await new_case(app[CASES])
    await drive(app[CASES], case_no, to_closed())
    await service.settled()
    clock.now = callable_at(service, clock.now + timedelta(minutes=31))  # due, inside the calling window
    await service.run_due_callbacks(clock())
    act = service.cases.act

    async def dies(*args: Any, **kwargs: Any) -> Any:
        raise Crash

    service.cases.act = dies  # type: ignore[method-assign]  # the process dies while rating the case
    with pytest.raises(Crash):
        await dialer.answer(2)
    service.cases.act = act  # type: ignore[method-assign]
    async with app[ENGINE].connect() as conn:
        assert (await conn.execute(select(callbacks.c.state, callbacks.c.answer))).one() == ("deciding", 2)
    await dialer.answer(2)  # a repeated report of the same call changes nothing
    assert await service.run_due_callbacks(clock()) == 0  # still leased: nobody decides again yet
    clock.advance(minutes=cb.CALL_LEASE.total_seconds() / 60)
    await service.run_due_callbacks(clock())
    async with app[ENGINE].connect() as conn:
        assert (await conn.execute(select(callbacks.c.state, callbacks.c.answer))).one() == ("answered", 2)
        rated = await conn.execute(select(cases.c.satisfaction).where(cases.c.case_no == case_no))
        assert rated.scalar_one() == 2
