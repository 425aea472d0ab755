"""Network namespaces for tests that need a real second address: the "LAN" of agents' phones and the
"carrier", as other hosts on veth links, with private addresses that exist only inside these namespaces.

`Lab` creates the namespaces (unique names per run: the pid), links them and removes them again, also when
the test failed (a context manager, used by a fixture). `entered(name)` moves the calling thread (the test's
main thread, where the event loop runs) into a namespace, so everything the test itself opens there - ARI on
127.0.0.1, SIPp, Asterisk started as a child - lives in that namespace; it moves back on exit.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


@contextlib.contextmanager
def entered(namespace: str) -> Iterator[None]:
    """Run the calling thread inside `namespace` for the block, then return to where it was."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)


@dataclass
class Lab:
    """Namespaces `<prefix>-<role>` and veth links between them; `addresses[role]` lists each role's
    addresses. Create with `with Lab.build(...) as lab:`; everything is removed on exit."""

    prefix: str
    namespaces: list[str] = field(default_factory=list)
    addresses: dict[str, list[str]] = field(default_factory=dict)

    def ns(self, role: str) -> str:
        return f"{self.prefix}-{role}"

    def add(self, role: str) -> str:
        name = self.ns(role)
        _ip("netns", "add", name)
        self.namespaces.append(name)
        _ip("-n", name, "link", "set", "lo", "up")
        # No IPv6 link-local addresses on the veths: peers would pick fe80:: candidates.
        subprocess.run(["ip", "netns", "exec", name, "sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1"],
                       capture_output=True, check=False)
        self.addresses.setdefault(role, [])
        return name

    def link(self, a: str, b: str, a_addresses: list[str], b_addresses: list[str], tag: str) -> None:
        """A veth pair between roles `a` and `b` with `/prefix` addresses on each end."""
        left, right = f"{self.prefix[:9]}{tag}a", f"{self.prefix[:9]}{tag}b"  # interface names: <= 15 chars
        _ip("link", "add", left, "netns", self.ns(a), "type", "veth", "peer", "name", right, "netns", self.ns(b))
        for role, dev, addresses in ((a, left, a_addresses), (b, right, b_addresses)):
            for address in addresses:
                _ip("-n", self.ns(role), "addr", "add", address, "dev", dev)
                self.addresses[role].append(address.split("/")[0])
            _ip("-n", self.ns(role), "link", "set", dev, "up")

    def route(self, role: str, via: str) -> None:
        """A default route for `role` through `via` (reach the server's other addresses)."""
        _ip("-n", self.ns(role), "route", "add", "default", "via", via)

    def exec(self, role: str) -> list[str]:
        """The command prefix that runs a program inside `role`'s namespace."""
        return ["ip", "netns", "exec", self.ns(role)]

    def remove(self) -> None:
        for name in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
        self.namespaces.clear()

    @classmethod
    @contextlib.contextmanager
    def build(cls, prefix: str | None = None) -> Iterator[Lab]:
        lab = cls(prefix or f"h17t{os.getpid()}")
        try:
            yield lab
        finally:
            lab.remove()


def leftover_namespaces(prefix: str = "h17t") -> list[str]:
    """Namespaces of earlier runs still present (for the leftover check)."""
    folder = Path("/run/netns")
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(prefix)) if folder.is_dir() else []
