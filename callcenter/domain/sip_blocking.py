"""Block an address after repeated failed SIP authentications (pure: no I/O, no clock).

Asterisk reports each failure as a security event (res_security_log: `SecurityEvent="ChallengeResponseFailed"
… RemoteAddress="IPV4/TLS/10.20.1.7/50164"`). `parse_security_event` reads one such line; `Blocker` counts
failures per address inside a sliding window and blocks the address for a while once it reaches the
threshold; `expired` says which blocks are over. Loopback is never blocked (the platform's own tools).
"""

from __future__ import annotations

import ipaddress
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

FAILURES = frozenset({"ChallengeResponseFailed", "InvalidPassword", "InvalidAccountID", "FailedACL"})
_EVENT = re.compile(r'SecurityEvent="(?P<event>\w+)"')
_REMOTE = re.compile(r'RemoteAddress="IPV[46]/\w+/(?P<address>[0-9A-Fa-f.:]+)/\d+"')


def parse_security_event(line: str) -> tuple[str, str] | None:
    """(event name, remote address) of a failure event, else None."""
    event, remote = _EVENT.search(line), _REMOTE.search(line)
    if event is None or remote is None or event["event"] not in FAILURES:
        return None
    return event["event"], remote["address"]


@dataclass
class Blocker:
    threshold: int  # failures inside `window` that block (0: never)
    window: timedelta
    block_for: timedelta
    failures: dict[str, deque[datetime]] = field(default_factory=dict)
    blocked: dict[str, datetime] = field(default_factory=dict)  # address -> blocked until

    def failed(self, address: str, at: datetime) -> bool:
        """Count one failure; True when this one blocks the address (it was not blocked yet)."""
        if self.threshold <= 0 or address in self.blocked or ipaddress.ip_address(address).is_loopback:
            return False
        seen = self.failures.setdefault(address, deque())
        seen.append(at)
        while seen and seen[0] <= at - self.window:
            seen.popleft()
        if len(seen) >= self.threshold:
            del self.failures[address]
            self.blocked[address] = at + self.block_for
            return True
        return False

    def expired(self, now: datetime) -> list[str]:
        """Addresses whose block is over (and forgets them)."""
        over = [a for a, until in self.blocked.items() if until <= now]
        for address in over:
            del self.blocked[address]
        return over
