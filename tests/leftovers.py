"""Processes a test run left behind: `python -m tests.leftovers RUN_ID` lists every process whose environment
carries HOTLINE_TEST_RUN=RUN_ID (scripts/test.sh sets it for pytest, so every Asterisk, SIPp, baresip, Chromium
and service a test starts inherits it), ends none of them, and exits 1 when there is any.

Why the environment and not the process tree: a process whose parent has exited is adopted by init, so after the
run only the marker still says where it came from. Ending them is left to the person reading the list: this
script must not end processes it did not start.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

MARKER = "HOTLINE_TEST_RUN"


def _environ(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return b""


def alive(pid: int | str) -> bool:
    """The process exists and has not exited (a zombie waiting to be reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _command(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def leftovers(run_id: str) -> list[tuple[int, str]]:
    """(pid, command line) of the live processes marked with `run_id`, other than this one."""
    needle = f"{MARKER}={run_id}".encode()
    me = str(os.getpid())
    found = []
    for entry in Path("/proc").iterdir():
        pid = entry.name
        if pid.isdigit() and pid != me and needle in _environ(pid).split(b"\0") and alive(pid):
            found.append((int(pid), _command(pid)))
    return sorted(found)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0]:
        print("usage: python -m tests.leftovers RUN_ID", file=sys.stderr)
        return 2
    deadline = time.monotonic() + 10  # a finaliser's last child may still be on its way out
    while (found := leftovers(argv[0])) and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid, command in found:
        print(f"LEFT RUNNING by the test run: pid {pid}: {command[:300]}", file=sys.stderr)
    if found:
        print(f"{len(found)} process(es) started by the tests are still running: a test or fixture does not "
              "stop what it starts", file=sys.stderr)
        return 1
    print("no process of the test run is left running")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
