"""A full disk under the photo folder: a clear 507 with a Chinese message, nothing half-kept, recovery after.

The photo folder is a real, small file system: a 1 MiB tmpfs the test mounts over `<data dir>/photos` and
unmounts after (root only; skipped otherwise). The test fills it with a filler file until the kernel says
ENOSPC, then uploads through the API.
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

from config.bootstrap import engine_for
from config.settings import Settings
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
