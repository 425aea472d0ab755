"""`hotline serve` as a child process on the session's Asterisk, for the crash tests and bench/crash.py:
a fresh SQLite database, a lead's API token, the service's telephony on the test Asterisk's ports, and an
observer ARI client (REST only) to see what Asterisk holds."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp

from callcenter.ari.client import AriClient
from callcenter.rig.confgen import ari_password
from callcenter.rig.local_ports import free_port
from callcenter.settings import TelephonySettings
from tests.leftovers import alive

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "crash-test-password-1"


def hotline(env: dict[str, str], *args: str) -> str:
    exe = str(Path(sys.executable).with_name("hotline"))
    done = subprocess.run([exe, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@dataclass
class Served:
    """The service under test: started, killed and started again on the same database."""

    tel: TelephonySettings
    tmp: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    token: str = ""
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db(self) -> Path:
        return self.tmp / "crash.db"

    def prepare(self, **telephony: Any) -> None:
        """Settings file (the test Asterisk's telephony, speech off), schema, reference data, lead01 + token."""
        tel = {**self.tel.model_dump(mode="json"), **telephony}
        config = self.tmp / "site.yaml"
        config.write_text(json.dumps({"telephony": tel, "speech": {"engine": "none"}}), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_") or k.startswith("HOTLINE_TEST_")}
        env.update(
            {
                "HOTLINE_CONFIG": str(config),
                "HOTLINE_DATABASE__URL": f"sqlite+aiosqlite:///{self.db}",
                "HOTLINE_DATA_DIR": str(self.tmp),
                "HOTLINE_HTTP__PORT": str(self.port),
                "HOTLINE_HTTP__PUBLIC_URL": self.url,
            }
        )
        self.env = env
        hotline(env, "db", "upgrade")
        hotline(env, "db", "seed")
        hotline(env, "user", "add", "lead01", "--role", "lead", "--password", PASSWORD)
        self.token = hotline(env, "token", "create", "lead01").strip().splitlines()[-1]

    def start(self) -> None:
        self.starts += 1
        exe = str(Path(sys.executable).with_name("hotline"))
        with (self.tmp / f"serve-{self.starts}.log").open("wb") as log:
            self.process = subprocess.Popen(
                [exe, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill9(self) -> None:
        """`kill -9` by pid: no clean-up of any kind runs in the service."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and alive(self.process.pid):
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def log(self) -> str:
        return (self.tmp / f"serve-{self.starts}.log").read_text(errors="replace")[-6000:]


class Api:
    """The served API as lead01 (or as the owner of `token`)."""

    def __init__(self, served: Served, token: str | None = None) -> None:
        self.served = served
        self.session = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {token or served.token}"}, timeout=aiohttp.ClientTimeout(total=20)
        )

    async def close(self) -> None:
        await self.session.close()

    async def call(self, method: str, path: str, body: Any = None, expect: int | None = 200) -> Any:
        async with self.session.request(method, self.served.url + path, json=body) as answer:
            data = await answer.json(content_type=None)
            if expect is not None:
                assert answer.status == expect, (method, path, answer.status, data)
            return data

    async def ready(self, timeout_s: float = 60) -> float:
        """Wait until the service answers with its telephony connected; returns when (monotonic)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.served.process is not None
            if self.served.process.poll() is not None:
                raise AssertionError(f"hotline serve exited: {self.served.log()}")
            try:
                async with self.session.get(self.served.url + "/api/v1/queue") as answer:
                    if answer.status == 200:
                        return time.monotonic()
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
        raise AssertionError(f"hotline serve not ready within {timeout_s} s: {self.served.log()}")

    async def agent(self, ext: str) -> dict[str, Any]:
        snapshot = await self.call("GET", "/api/v1/queue")
        return next(a for a in snapshot["agents"] if a["agent_id"] == ext)

    async def ready_agent(self, ext: str) -> None:
        await self.call("POST", f"/api/v1/agents/{ext}/login")
        await self.call("POST", f"/api/v1/agents/{ext}/state", {"state": "ready"})


def observer(tel: TelephonySettings) -> AriClient:
    """ARI REST as another application: lists what Asterisk holds, never takes part in a call."""
    return AriClient(tel.ari_url, tel.ari_user, ari_password(tel), f"{tel.app_name}-observer")


def as_runtime(client: AriClient) -> Any:
    """What tests.sip.peers.agent_online needs of a runtime (its ARI client)."""
    return SimpleNamespace(client=client)
