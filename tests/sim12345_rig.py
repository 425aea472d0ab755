"""Start and stop the 12345 simulator (tests/sim12345.py) as a separate process, by its pid."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from callcenter.rig.local_ports import free_port

ROOT = Path(__file__).resolve().parents[1]


class SimProcess:
    """One simulator process on a loopback port from the rig's allocator; `stop`/`start` keep its state."""

    def __init__(self, secret: str, state: Path, seed: int = 12345) -> None:
        self.secret, self.state, self.seed = secret, state, seed
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.sim12345",
                "--port",
                str(self.port),
                "--secret",
                self.secret,
                "--state",
                str(self.state),
                "--seed",
                str(self.seed),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"simulator exited: {self.proc.stderr.read().decode() if self.proc.stderr else ''}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("simulator did not start in 15 s")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # by its own pid (Popen), nothing else
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.stderr:
            proc.stderr.close()

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        async with aiohttp.ClientSession() as session, session.request(method, self.url + path, json=body) as resp:
            return await resp.json()

    async def configure(self, **cfg: Any) -> None:
        await self.call("POST", "/control/config", cfg)

    async def state_now(self) -> dict[str, Any]:
        return await self.call("GET", "/control/state")
