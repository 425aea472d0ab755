"""Free loopback ports for the rigs that tests and benchmarks start (Asterisk, SIPp, baresip, the service).

Why not "bind port 0 and close": such a port comes from the kernel's ephemeral range, which every outgoing
connection draws from too. Between our check and the peer's own bind, an HTTP poll of ARI or a database
connection can take the same number; and baresip binds its SIP port on UDP *and* TCP, so a port checked on UDP
only fails as "tcp: sock_bind: Address already in use" and the phone never registers. Ports handed out here lie
below the ephemeral range, are checked on both protocols, come in blocks of four (SIPp uses media port + 1..3
for RTCP and video), and are never handed out twice by one process. Different processes start at different
offsets (by pid), and the bind check catches the rest.
"""

from __future__ import annotations

import functools
import os
import socket
import threading
from pathlib import Path

BLOCK = 4
LOW = 10000  # below: well-known services (PostgreSQL 5432, Asterisk's 5060/8088, the platform's 8080)
RTP_LOW, RTP_HIGH = 20000, 31999  # Asterisk media ports of test instances: see rtp_block()
_lock = threading.Lock()
_handed_out: set[int] = set()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _free(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


@functools.cache
def _candidates() -> tuple[int, ...]:
    """Block starts in [LOW, RTP_LOW) and above the RTP range up to the ephemeral range, from a pid offset."""
    high = _ephemeral_low()
    starts = [p for p in range(LOW, high - BLOCK, BLOCK) if not (RTP_LOW - BLOCK < p <= RTP_HIGH)]
    offset = (os.getpid() * 7919) % len(starts)
    return tuple(starts[offset:] + starts[:offset])


def free_port() -> int:
    """A loopback port free on TCP and UDP (with the next three), below the ephemeral range, new to this
    process. Raises RuntimeError when the whole range is taken."""
    with _lock:
        for start in _candidates():
            block = range(start, start + BLOCK)
            if any(p in _handed_out for p in block):
                continue
            if all(_free(p) for p in block):
                _handed_out.update(block)
                return start
    raise RuntimeError("no free loopback port below the ephemeral range")


def rtp_block(size: int = 100) -> tuple[int, int]:
    """An RTP port range for one test Asterisk, by pid, inside [RTP_LOW, RTP_HIGH]."""
    slots = (RTP_HIGH + 1 - RTP_LOW) // size
    start = RTP_LOW + (os.getpid() % slots) * size
    return start, start + size - 1
