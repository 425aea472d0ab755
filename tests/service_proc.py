"""`hotline serve` as a child process on a database of the caller's choosing, with users and API tokens.

The fault tests and bench/load.py need the real service in its own process (its own event loop, its own RSS in
/proc, a database they can stop under it). Built on the e2e helpers (tests/e2e/conftest.py) so that the
environment is the same: settings only from the temp config and HOTLINE_* variables given here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from callcenter.rig.local_ports import free_port
from tests.e2e.conftest import ROOT, hotline, site_env

PASSWORD = "fault-test-password-1"


@dataclass
class Service:
    url: str
    env: dict[str, str]
    tmp: Path
    process: subprocess.Popen[bytes]
    tokens: dict[str, str]

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return (self.tmp / "serve.log").read_text(errors="replace")

    def rss_kib(self) -> int:
        """Resident set size of the service process (VmRSS of /proc/<pid>/status), in KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")


def prepare(tmp: Path, database_url: str, users: list[tuple[str, str]], **extra: str) -> dict[str, str]:
    """Migrate and seed the database, add `users` [(name, role)] with PASSWORD; returns the environment."""
    port = free_port()
    env = site_env(tmp, port, HOTLINE_DATABASE__URL=database_url, **extra)
    hotline(env, "db", "upgrade")
    hotline(env, "db", "seed")
    for name, role in users:
        hotline(env, "user", "add", name, "--role", role, "--password", PASSWORD)
    return env


def start(tmp: Path, env: dict[str, str], users: list[str], timeout: float = 30) -> Service:
    """Start `hotline serve` with `env` (from `prepare`) and wait until it answers; tokens for `users`."""
    tokens = {name: hotline(env, "token", "create", name).strip().splitlines()[-1] for name in users}
    port = env["HOTLINE_HTTP__PORT"]
    exe = str(Path(sys.executable).with_name("hotline"))
    with (tmp / "serve.log").open("ab") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [exe, "serve", "--host", "127.0.0.1", "--port", port],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    service = Service(f"http://127.0.0.1:{port}", env, tmp, process, tokens)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"service exited: {service.log()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{service.url}/login", timeout=2) as answer:
                if answer.status == 200:
                    return service
        except OSError:
            time.sleep(0.2)
    stop(service)
    raise RuntimeError(f"service did not answer within {timeout:.0f} s: {service.log()[-2000:]}")


def stop(service: Service) -> None:
    """SIGTERM (graceful shutdown), SIGKILL after 15 s. Only this child, by its pid."""
    if service.process.poll() is not None:
        return
    os.kill(service.pid, signal.SIGTERM)
    try:
        service.process.wait(15)
    except subprocess.TimeoutExpired:
        service.process.kill()
        service.process.wait(5)
