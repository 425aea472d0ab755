"""Fixtures for tests against the real Asterisk (integration and end-to-end), as a pytest plugin.

Registered once by tests/conftest.py, so every test folder shares the same session fixtures: importing
them into a test module would define a second session-scoped Asterisk with the same instance name.

Asterisk: one instance per test session in the cached sid chroot (built from scratch when the cache is
missing, so a fresh CI machine works), on free loopback ports, stopped at the end.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from callcenter.rig.local_ports import free_port, rtp_block
from callcenter.runtime import CallRuntime
from callcenter.settings import TelephonySettings

REALTIME = "realtime"  # the xdist group of the tests on the real Asterisk (and the speech models)


def pytest_itemcollected(item: pytest.Item) -> None:
    """Under pytest-xdist (`--dist loadgroup`) every test on the real Asterisk goes to one worker: one
    Asterisk per run, its tests one after another; the other tests are spread over all workers. The speech
    model tests join that worker too: they fill both cores, and beside them a live call's snoop set-up could
    come after the call had ended (seen once: "Channel not in Stasis application")."""
    speech_model = item.path.parent.name == "integration" and item.path.name.startswith("test_speech_")
    if speech_model or "asterisk" in getattr(item, "fixturenames", ()):
        item.add_marker(pytest.mark.xdist_group(REALTIME))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """xdist's scheduler groups by a `@group` suffix of the node id, which its worker writes into
    `item._nodeid` — an attribute pytest 9 no longer reads (the id is the structured `item._id`), so with
    pytest 9.2 and xdist 3.8 no test was grouped and each worker started an Asterisk of its own. Until xdist
    follows, the worker's items get the suffix here, in the form xdist itself writes; an id that would not
    survive the round trip keeps its plain form (that test is then scheduled like any other)."""
    if not config.getoption("loadgroup", default=False):
        return
    from _pytest.nodeid import NodeId

    suffix = f"@{REALTIME}"
    for item in items:
        if item.get_closest_marker("xdist_group") is None or item.nodeid.endswith(suffix):
            continue
        grouped = NodeId.parse(item.nodeid + suffix)
        if str(grouped) == item.nodeid + suffix and hasattr(item, "_id"):
            item._id = grouped


@pytest.fixture(autouse=True)
def _peers_stopped() -> Iterator[None]:
    """Every SIPp and baresip a test started is ended when the test ends, passed or failed."""
    yield
    from tests.sip.peers import stop_leftovers

    stop_leftovers()


def _rig_available() -> str | None:
    if os.geteuid() != 0:
        return "the Asterisk rig needs root (chroot, mount namespace)"
    for tool in ("mmdebstrap", "unshare", "sipp"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (see scripts/apt-packages.txt)"
    return None


@pytest.fixture(scope="session")
def telephony_settings(tmp_path_factory: pytest.TempPathFactory) -> TelephonySettings:
    """Settings of the session's own Asterisk: free ports, private state folder, benchmark numbers on."""
    reason = _rig_available()
    if reason:
        pytest.skip(reason)
    rtp_start, rtp_end = rtp_block()
    return TelephonySettings(
        enabled=True, instance=f"test{os.getpid()}", app_name=f"hotline-test{os.getpid()}",
        state_dir=str(tmp_path_factory.mktemp("asterisk-state")),
        asterisk_root=os.environ.get("HOTLINE_TEST_ASTERISK_ROOT", TelephonySettings().asterisk_root),
        http_port=free_port(), sip_port=free_port(),
        rtp_start=rtp_start, rtp_end=rtp_end, benchmark_extensions=True,
        ring_timeout_s=5, wrapup_s=1, blocklist=("13900000666",),
    )


@pytest.fixture(scope="session")
def asterisk(telephony_settings: TelephonySettings) -> Iterator[TelephonySettings]:
    """A running Asterisk (set up from scratch if the cache is missing), stopped after the session."""
    from callcenter.rig import process
    from callcenter.rig.confgen import in_root, instance_dirs

    process.start(telephony_settings)
    try:
        yield telephony_settings
    finally:
        process.stop(telephony_settings)
        # Per-instance folders in the shared chroot are the session's own: remove them.
        logs = in_root(telephony_settings.root, instance_dirs(telephony_settings)["log_dir"])
        shutil.copytree(logs, telephony_settings.state_path("asterisk-logs"), dirs_exist_ok=True)
        for inner in instance_dirs(telephony_settings).values():
            shutil.rmtree(in_root(telephony_settings.root, inner), ignore_errors=True)


@pytest.fixture(scope="session")
def audio_fixtures() -> Path:
    return Path(__file__).resolve().parent / "fixtures" / "audio"


@pytest.fixture
async def call_runtime(asterisk: TelephonySettings, tmp_path: Path) -> AsyncIterator[CallRuntime]:
    """Our call runtime connected to the session's Asterisk, storing call records in a SQLite file."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from callcenter.app import build_runtime
    from callcenter.records import SqlCallRecords
    from callcenter.tables import TABLES
    from core.db.base import metadata

    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all, tables=list(TABLES))
    async with _connected(build_runtime(asterisk, SqlCallRecords(engine)), engine) as runtime:
        yield runtime


@pytest.fixture
async def case_runtime(asterisk: TelephonySettings, db_settings: object) -> AsyncIterator[CallRuntime]:
    """Our call runtime on a migrated database (SQLite, then PostgreSQL in its own schema), wired as in
    the app: call records, audit log and the IVR's progress query on the real case tables. The case
    service is at `runtime.test_cases` for creating real cases."""
    from callcenter.app import build_runtime
    from callcenter.case_lookup import sql_case_lookup
    from callcenter.records import SqlCallRecords
    from config.bootstrap import build_case_service, engine_for

    engine = engine_for(db_settings)  # type: ignore[arg-type]
    runtime = build_runtime(asterisk, SqlCallRecords(engine), case_lookup=sql_case_lookup(engine))
    runtime.test_cases = build_case_service(engine, db_settings)  # type: ignore[attr-defined, arg-type]
    async with _connected(runtime, engine) as connected:
        yield connected


@asynccontextmanager
async def _connected(runtime: CallRuntime, engine: AsyncEngine) -> AsyncIterator[CallRuntime]:
    """Start the runtime with short queue announcements, wait for ARI, and stop it and the engine after."""
    runtime.tel_announce_s = 3  # type: ignore[attr-defined]
    await runtime.start()
    try:
        await runtime.wait_connected()
        yield runtime
    finally:
        await runtime.stop()
        await engine.dispose()
