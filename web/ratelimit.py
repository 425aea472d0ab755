"""Per-client rate limits for public endpoints (Open311 reads, /track, the public report form).

A sliding window of request times per key (api_key or remote address), in memory: a limit protects this
process from one client, it is not durable intent, so a restart forgetting the counts is acceptable. The
clock is the app's, so tests move it instead of sleeping.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

MAX_KEYS = 50_000  # beyond this, the oldest keys are forgotten (a flood of addresses cannot exhaust memory)


@dataclass
class RateLimiter:
    limit: int
    window: timedelta
    clock: Callable[[], datetime]
    _hits: dict[str, deque[datetime]] = field(default_factory=dict)

    def allow(self, key: str) -> bool:
        """Count one request of `key`; False (and not counted) when it already made `limit` in the window."""
        now = self.clock()
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= MAX_KEYS:
                self._hits.pop(next(iter(self._hits)))
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True
