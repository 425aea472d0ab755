"""The demo seed's one photo for 核查 answers (they carry photos by default): a small generated JPEG stored
like any upload, made once and reused by later seeds."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.accounts import User
from ticketing.domain.model import Role
from web.api.photos import save_photo
from web.keys import CLOCK, ENGINE, SETTINGS
from web.tables import photos

DEMO_UPLOADER = "inspector01"


def _demo_jpeg() -> bytes:
    image = Image.new("RGB", (480, 360), (176, 196, 214))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 250, 480, 360), fill=(120, 124, 128))  # the road
    draw.ellipse((180, 270, 300, 330), fill=(60, 64, 70))  # a manhole cover, back in place
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


async def demo_check_photo(settings: Any, engine: AsyncEngine, clock: Callable[[], datetime]) -> str:
    async with engine.connect() as conn:
        found = (
            await conn.execute(
                select(photos.c.id).where(photos.c.uploaded_by == DEMO_UPLOADER).order_by(photos.c.created_at).limit(1)
            )
        ).scalar()
    if found:
        return str(found)
    # save_photo reads only these three keys of the application; the seed has no running app.
    app: Any = {SETTINGS: settings, ENGINE: engine, CLOCK: clock}
    user = User(0, DEMO_UPLOADER, "监督员 01", Role.INSPECTOR, None, None, True)
    return (await save_photo(app, user, _demo_jpeg())).id
