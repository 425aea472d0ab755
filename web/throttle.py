"""Login throttling in front of the per-account lock-out: per client, for everybody, and for the CPU.

Per-account lock-out alone lets anyone lock every staff member out and lets one client try passwords across
all accounts. So, before a password is even hashed:
- a client (remote address) with `per_client` failures inside `window` is refused until the oldest ages out;
- the whole service takes at most `global_per_minute` attempts a minute (a flood from many addresses);
- at most `hash_concurrency` argon2 checks run at once, so a flood cannot take every core from calls.
Refusals are 429 with Retry-After. The counters are in memory per process: a restart forgets them, which
only means a fresh window; the per-account counter in the database remains.

Attempts still waiting for their hash count as well (measured with bench/load.py): a failure is known only
after the hash, so a client sending its attempts concurrently would otherwise pass the per-client check a
thousand times before its first failure is recorded, and the attempts would queue behind the hash semaphore
(memory, client timeouts, two cores busy hashing for minutes). So an attempt in flight counts against its
client's budget until it settles, and at most `max_in_flight` attempts wait or hash at once; beyond that the
answer is 429 at once.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from datetime import datetime, timedelta

from aiohttp import web

MAX_CLIENTS = 50_000
BUSY_RETRY_S = 2  # Retry-After when too many attempts are in flight: about the time a few hashes take


class LoginThrottle:
    def __init__(
        self,
        *,
        per_client: int,
        global_per_minute: int,
        window: timedelta,
        hash_concurrency: int,
        max_in_flight: int | None = None,
    ) -> None:
        self.per_client, self.global_per_minute, self.window = per_client, global_per_minute, window
        self.hashing = asyncio.Semaphore(hash_concurrency)
        self.max_in_flight = max_in_flight if max_in_flight is not None else 8 * hash_concurrency
        self._failures: dict[str, deque[datetime]] = {}
        self._attempts: deque[datetime] = deque()
        self._pending: dict[str, int] = {}  # attempts per client that passed the check and have not settled

    def wait_s(self, client: str, now: datetime) -> int:
        """Seconds this client must wait before another attempt (0: go ahead)."""
        minute_ago = now - timedelta(minutes=1)
        while self._attempts and self._attempts[0] <= minute_ago:
            self._attempts.popleft()
        waits = []
        if len(self._attempts) >= self.global_per_minute:
            waits.append((self._attempts[0] - minute_ago).total_seconds())
        if sum(self._pending.values()) >= self.max_in_flight:
            waits.append(BUSY_RETRY_S)
        failures = self._failures.get(client)
        pending = self._pending.get(client, 0)
        if failures is not None:
            while failures and failures[0] <= now - self.window:
                failures.popleft()
            if len(failures) + pending >= self.per_client:
                waits.append((failures[0] + self.window - now).total_seconds() if failures else BUSY_RETRY_S)
            elif not failures:
                del self._failures[client]
        elif pending >= self.per_client:
            waits.append(BUSY_RETRY_S)
        return max((max(1, math.ceil(w)) for w in waits), default=0)

    def attempted(self, now: datetime, client: str | None = None) -> None:
        """An attempt passed the check; with `client`, it counts for that client until `settled(client)`."""
        self._attempts.append(now)
        if client is not None:
            self._pending[client] = self._pending.get(client, 0) + 1

    def settled(self, client: str) -> None:
        """The attempt of `client` got its answer (call `failed` first when it failed)."""
        left = self._pending.get(client, 0) - 1
        if left > 0:
            self._pending[client] = left
        else:
            self._pending.pop(client, None)

    def failed(self, client: str, now: datetime) -> None:
        if len(self._failures) >= MAX_CLIENTS and client not in self._failures:
            self._failures.pop(next(iter(self._failures)))
        self._failures.setdefault(client, deque()).append(now)


LOGIN_THROTTLE = web.AppKey("login_throttle", LoginThrottle)
