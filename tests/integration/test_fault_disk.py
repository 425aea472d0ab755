"""A full disk under the photos or the recordings: a clear error, nothing half-kept, calls go on.

Photos: a clear 507 with a Chinese message, nothing half-kept, uploads work again once space is freed.
Recordings: a citizen's call through the real Asterisk is connected and carried on unrecorded, and the call
says why (an event `recording_unavailable`, no recording named); the description the caller is asked for in
the IVR is not recorded either (no file named that does not exist) and the caller is queued for an agent.

Each folder is a real, small file system: a 1 MiB tmpfs the test mounts over `<data dir>/photos` or over the
test Asterisk's recording folder and unmounts after (root only; skipped otherwise). The test fills it with a
filler file until the kernel says ENOSPC.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import FormData
from PIL import Image
from sqlalchemy import func, select

from callcenter.acd import LogIn, SetReady
from callcenter.rig.confgen import recordings_dir
from callcenter.runtime import CallRuntime
from callcenter.settings import TelephonySettings
from config.bootstrap import engine_for
from config.settings import Settings
from tests.sip.audio import rms, samples, windows
from tests.sip.peers import BaresipAgent, agent_online, make_tone, run_sipp, to_alaw, wait_outcome
from web.tables import photos

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")

SIZE = "1m"


@contextlib.contextmanager
def small_filesystem(path: Path, size: str = SIZE) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `path` for the block, unmounted (lazily if busy) after."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder: Path, leave: int = 0) -> Path:
    """Write a filler file until the file system is full, then give back about `leave` bytes."""
    filler = folder / "filler.bin"
    with filler.open("wb") as out:
        chunk = b"\0" * 65536
        with contextlib.suppress(OSError):
            while True:
                out.write(chunk)
                out.flush()
        with contextlib.suppress(OSError):  # the last buffered bytes may not have found room either
            out.flush()
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def free_bytes(folder: Path) -> int:
    stat = os.statvfs(folder)
    return stat.f_bavail * stat.f_frsize


def png(size: tuple[int, int], noise: bool = False) -> bytes:
    """A PNG; with `noise` it does not compress, so its file is about 3 bytes per pixel."""
    image = (
        Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
        if noise
        else Image.new("RGB", size, (40, 120, 200))
    )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


async def upload(api, *files: bytes) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    form = FormData()
    for i, data in enumerate(files):
        form.add_field("file", data, filename=f"现场{i}.png", content_type="image/png")
    return await api.call("POST", "/api/v1/photos", "dept-szs", data=form)


async def photo_rows(settings: Settings) -> int:
    engine = engine_for(settings)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(photos))).scalar_one())
    finally:
        await engine.dispose()


def stored_files(folder: Path) -> set[str]:
    return {p.name for p in folder.rglob("*") if p.is_file() and p.name != "filler.bin"}


@pytest.fixture
def photo_fs(db_settings: Settings) -> Iterator[Path]:
    with small_filesystem(db_settings.data_path("photos")) as folder:
        yield folder


async def test_photo_upload_on_a_full_disk_is_refused_clearly_and_keeps_nothing(
    api, db_settings: Settings, photo_fs: Path
) -> None:  # type: ignore[no-untyped-def]
    status, body = await upload(api, png((64, 48)))
    assert status == 201, body  # the small file system works while it has room
    before_rows, before_files = await photo_rows(db_settings), stored_files(photo_fs)
    assert len(before_files) == 2  # original and thumbnail

    filler = fill(photo_fs)
    status, body = await upload(api, png((64, 48)))
    assert status == 507, body
    assert set(body) == {"error"} and body["error"]["code"] == "storage_full"
    assert "存储空间已满" in body["error"]["message"]
    assert await photo_rows(db_settings) == before_rows
    assert stored_files(photo_fs) == before_files  # no empty or partial file left behind

    # Room for the first photo of a request but not for the second: the whole request is refused, and the
    # first one (whose id the client never received) is gone again, row and files.
    filler.unlink()
    fill(photo_fs, leave=64 * 1024)
    assert free_bytes(photo_fs) < 200 * 1024
    status, body = await upload(api, png((64, 48)), png((300, 300), noise=True))
    assert status == 507, body
    assert await photo_rows(db_settings) == before_rows
    assert stored_files(photo_fs) == before_files

    # Space freed by an operator: uploads work again, nothing to restart.
    (photo_fs / "filler.bin").unlink()
    status, body = await upload(api, png((64, 48)), png((300, 300), noise=True))
    assert status == 201, body
    assert len(body["photos"]) == 2
    assert await photo_rows(db_settings) == before_rows + 2


async def test_photo_storage_full_is_documented(api) -> None:  # type: ignore[no-untyped-def]
    status, doc = await api.call("GET", "/api/v1/openapi.json", None)
    assert status == 200
    assert "507" in doc["paths"]["/api/v1/photos"]["post"]["responses"]


@pytest.mark.asterisk
@pytest.mark.slow
async def test_call_on_a_full_recording_disk_goes_on_unrecorded_and_says_so(
    call_runtime: CallRuntime, asterisk: TelephonySettings, audio_fixtures: Path, tmp_path: Path
) -> None:
    agent = BaresipAgent(asterisk, "8001", tmp_path / "agent8001", make_tone(tmp_path))
    await agent_online(call_runtime, agent, "8001")
    call_runtime.acd.command("8001", LogIn())
    call_runtime.acd.command("8001", SetReady())
    to_alaw(audio_fixtures / "callers" / "c01.wav", tmp_path)
    with small_filesystem(recordings_dir(asterisk)) as folder:
        fill(folder)
        try:
            result = await run_sipp(
                asterisk, "citizen_report.xml", service="12319", workdir=tmp_path, keys={"caller": "13800138001"}
            )
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
            record = await wait_outcome(call_runtime)
        finally:
            await agent.stop()

    # The conversation took place: answered by the agent, who heard the caller, ended by the caller.
    assert record["outcome"] == "answered" and record["agent_id"] == "8001"
    assert record["hangup_by"] == "caller"
    heard = agent.heard()
    assert heard, "the agent phone dumped what it received"
    got, rate = samples(heard[0])
    assert max(rms(w) for w in windows(got, rate)) > 300, "the agent heard the caller"
    # The call names no recording that does not exist, and says why: neither the conversation's recording nor
    # the description the caller spoke in the IVR (menu 1), which Asterisk would report "finished" unwritten.
    assert record["call_recording"] is None
    assert record["description_recording"] is None
    unavailable = [e["detail"] for e in record["events"] if e["kind"] == "recording_unavailable"]
    missing = [d for d in unavailable if "purpose" not in d]
    assert len(missing) == 1 and missing[0]["reason"] == "disk_full"
    assert missing[0]["free_bytes"] < asterisk.recording_min_free_mb * 1024 * 1024
    description = [d for d in unavailable if d.get("purpose") == "description"]
    assert len(description) == 1 and description[0]["reason"] == "disk_full", unavailable
    assert description[0]["free_bytes"] < asterisk.recording_min_free_mb * 1024 * 1024
    # ... and the caller still reached the agent: queued (after the apology) for an agent, not hung up.
    assert record["enqueued_at"] is not None and record["dtmf_path"].startswith("1")
