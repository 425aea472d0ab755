"""Login throttling in front of the per-account lock-out: per client, for everybody, and for the CPU.

Per-account lock-out alone lets anyone lock every staff member out and lets one client try passwords across
all accounts. So, before a password is even hashed:
- a client (remote address) with `per_client` failures inside `window` is refused until the oldest ages out;
- the whole service takes at most `global_per_minute` attempts a minute (a flood from many addresses);
- at most `hash_concurrency` argon2 checks run at once, so a flood cannot take every core from calls.
Refusals are 429 with Retry-After. The counters are in memory per process: a restart forgets them, which
only means a fresh window; the per-account counter in the database remains.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from datetime import datetime, timedelta

from aiohttp import web

MAX_CLIENTS = 50_000


class LoginThrottle:
    def __init__(self, *, per_client: int, global_per_minute: int, window: timedelta, hash_concurrency: int) -> None:
        self.per_client, self.global_per_minute, self.window = per_client, global_per_minute, window
        self.hashing = asyncio.Semaphore(hash_concurrency)
        self._failures: dict[str, deque[datetime]] = {}
        self._attempts: deque[datetime] = deque()

    def wait_s(self, client: str, now: datetime) -> int:
        """Seconds this client must wait before another attempt (0: go ahead)."""
        minute_ago = now - timedelta(minutes=1)
        while self._attempts and self._attempts[0] <= minute_ago:
            self._attempts.popleft()
        waits = []
        if len(self._attempts) >= self.global_per_minute:
            waits.append((self._attempts[0] - minute_ago).total_seconds())
        failures = self._failures.get(client)
        if failures is not None:
            while failures and failures[0] <= now - self.window:
                failures.popleft()
            if len(failures) >= self.per_client:
                waits.append((failures[0] + self.window - now).total_seconds())
            elif not failures:
                del self._failures[client]
        return max((max(1, math.ceil(w)) for w in waits), default=0)

    def attempted(self, now: datetime) -> None:
        self._attempts.append(now)

    def failed(self, client: str, now: datetime) -> None:
        if len(self._failures) >= MAX_CLIENTS and client not in self._failures:
            self._failures.pop(next(iter(self._failures)))
        self._failures.setdefault(client, deque()).append(now)


LOGIN_THROTTLE = web.AppKey("login_throttle", LoginThrottle)
