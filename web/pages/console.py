"""The agent console page (/console): softphone state, the browser phone, screen pop, case form with the map.

The browser phone's ring is a WAV made here (`ringtone`, served at /console/ringtone.wav): no sound file is
downloaded or committed."""

from __future__ import annotations

import functools
import io
import math
import struct
import wave

from aiohttp import web

from ticketing.domain.model import Role
from web.auth import require_page_user
from web.keys import SETTINGS
from web.templating import register_nav, render, setup_templating

CONSOLE_ROLES = (Role.AGENT, Role.LEAD)


async def console_page(request: web.Request) -> web.Response:
    user = await require_page_user(request, *CONSOLE_ROLES)
    settings = request.app[SETTINGS]
    extensions = list(settings.telephony.agent_extensions)
    return render("console.html", request, {
        "title": "受理台", "extension": user.extension or "", "extensions": extensions,
        "telephony": settings.telephony.enabled,
        "webrtc": settings.telephony.enabled and settings.telephony.webrtc is not None,
        "reasons": {"break": "小休", "training": "培训", "meeting": "会议", "meal": "用餐"},
    })


@functools.cache
def ringtone(rate: int = 8000) -> bytes:
    """One ring cycle, looped by the page: 0.4 s on, 0.2 s off, 0.4 s on (450 Hz with a 25 Hz warble, as
    Chinese phones ring), then 2 s of silence; 16-bit mono WAV."""
    frames = bytearray()
    pattern = ((0.4, True), (0.2, False), (0.4, True), (2.0, False))
    t = 0
    for seconds, on in pattern:
        for _ in range(int(seconds * rate)):
            value = 0.0
            if on:
                warble = 0.75 + 0.25 * math.sin(2 * math.pi * 25 * t / rate)
                value = 0.35 * math.sin(2 * math.pi * 450 * t / rate) * warble
            frames += struct.pack("<h", int(value * 32767))
            t += 1
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(frames))
    return out.getvalue()


async def ringtone_wav(request: web.Request) -> web.Response:
    await require_page_user(request, *CONSOLE_ROLES)
    return web.Response(body=ringtone(), content_type="audio/wav", headers={"Cache-Control": "private, max-age=86400"})


def setup(app: web.Application) -> None:
    setup_templating(app)
    register_nav(app, "受理台", "/console", CONSOLE_ROLES, order=10)
    app.router.add_get("/console", console_page, name="console")
    app.router.add_get("/console/ringtone.wav", ringtone_wav)
