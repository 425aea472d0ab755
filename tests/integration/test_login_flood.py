"""A login flood from one client sent all at once: the per-client budget holds while the attempts are still
waiting for their hash, and the attempts in flight are bounded (429 at once beyond), so a flood cannot queue
thousands of argon2 checks (found with bench/load.py: 6000 attempts in a minute all hashed, minutes of both
cores, the API's p95 at the client timeout)."""

from __future__ import annotations

import asyncio
import os
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from config.bootstrap import create_app
from config.settings import Settings
from core.accounts import HASH_NICE, HASHERS
from tests.integration.test_web_support import add_users, plain_cookies
from web import sessions
from web.throttle import LoginThrottle

ATTEMPTS = 40


def _with_security(settings: Settings, **values: Any) -> Settings:
    settings = plain_cookies(settings)
    return settings.model_copy(update={"security": settings.security.model_copy(update=values)})


async def test_a_concurrent_flood_from_one_client_is_hashed_at_most_its_budget(  # type: ignore[no-untyped-def]
    db_settings, clock, aiohttp_client, monkeypatch
) -> None:
    settings = _with_security(db_settings, login_client_failures=5, login_hash_concurrency=1)
    await add_users(settings, clock)
    hashed: list[str] = []
    real = sessions.verify_password

    def counting(stored: str | None, password: str) -> bool:
        hashed.append(password)
        return real(stored, password)

    monkeypatch.setattr(sessions, "verify_password", counting)
    client = await aiohttp_client(create_app(settings, clock=clock))
    cookie = {"hl_login_csrf": "flood-token"}  # the login form's token is a cookie echoed in the form

    async def attempt(i: int) -> tuple[int, str | None]:
        form = {"username": f"nobody{i}", "password": "wrong-password", "csrf_token": "flood-token"}
        async with client.post("/login", data=form, cookies=cookie, allow_redirects=False) as resp:
            await resp.read()
            return resp.status, resp.headers.get("Retry-After")

    answers = await asyncio.gather(*(attempt(i) for i in range(ATTEMPTS)))
    statuses = [s for s, _ in answers]
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= 5 and statuses.count(429) >= ATTEMPTS - 5
    assert all(int(after) > 0 for s, after in answers if s == 429)
    assert len(hashed) <= 5  # the refused ones never reached argon2


def test_attempts_in_flight_are_bounded_across_clients() -> None:
    now = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)  # an input: the throttle only compares instants
    throttle = LoginThrottle(
        per_client=20, global_per_minute=1000, window=timedelta(minutes=15), hash_concurrency=1, max_in_flight=2
    )
    for client in ("10.0.0.1", "10.0.0.2"):
        assert throttle.wait_s(client, now) == 0
        throttle.attempted(now, client)
    assert throttle.wait_s("10.0.0.3", now) > 0  # two in flight: a third client waits
    throttle.failed("10.0.0.1", now)
    throttle.settled("10.0.0.1")
    assert throttle.wait_s("10.0.0.3", now) == 0


def test_a_clients_pending_attempts_count_against_its_budget() -> None:
    now = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    throttle = LoginThrottle(
        per_client=3, global_per_minute=1000, window=timedelta(minutes=15), hash_concurrency=1, max_in_flight=100
    )
    for _ in range(3):
        assert throttle.wait_s("10.0.0.1", now) == 0
        throttle.attempted(now, "10.0.0.1")
    assert throttle.wait_s("10.0.0.1", now) > 0
    assert throttle.wait_s("10.0.0.2", now) == 0  # another client is not affected
    for _ in range(3):  # all three succeeded: the budget is free again
        throttle.settled("10.0.0.1")
    assert throttle.wait_s("10.0.0.1", now) == 0


def test_passwords_are_hashed_at_a_lower_priority_than_the_event_loop() -> None:
    loop_nice = os.getpriority(os.PRIO_PROCESS, 0)
    hasher_nice = HASHERS.submit(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())).result(10)
    assert hasher_nice >= min(loop_nice + HASH_NICE, 19)
    assert os.getpriority(os.PRIO_PROCESS, 0) == loop_nice  # the loop's own thread is unchanged
