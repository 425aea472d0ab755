"""Speech for calls: live transcription of both legs through ARI, the IVR description transcribed as soon as
it ends, and after the call the whole recording and the assembled live transcript stored (searchable).

A subscriber of the app's event bus (topic "call"); it reads the live calls and their rows through the call
context (`callcenter.context.CallContext`) and never changes them. Its channels
live in their own Stasis application (`<app_name>-speech`) so the runtime never sees them as new calls:

    answered → per leg: snoop (spy=in: only that leg's voice) + externalMedia (RTP to a LiveTranscription leg
               on 127.0.0.1) in a mixing bridge `speech-<call>-<speaker>-<n>`
    enqueued / message_left → the description recording → SpeechService.transcribe_and_store(source=description)
    ended    → tear down channels, bridges and legs; assemble the live segments; transcribe the call recording

Published on the bus as topic "transcript": kind "segment" (call_id, speaker, seq, start, end, text,
is_final, lag_s), "description" (call_id, transcript_id, text, suggested_class, suggested_place, summary) and
"conversation" (call_id, transcript_id, source live|recording, text, summary).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callcenter.ari.app_args import AppArgs, LegKind, in_app
from callcenter.ari.ari_events import Event
from callcenter.ari.client import AriClient, AriError
from callcenter.context import CallContext
from callcenter.rig.confgen import ari_password, recordings_dir
from callcenter.settings import TelephonySettings
from core.bus import BusEvent, EventBus
from transcribe.live import LiveLeg, LiveTranscription
from transcribe.ports import EngineUnavailable, Speaker
from transcribe.segments import SegmentEvent
from transcribe.service import SpeechService
from transcribe.settings import SpeechSettings

log = logging.getLogger(__name__)
APP_SUFFIX = "-speech"
CODEC = "ulaw"
TOPIC = "transcript"
FILE_WAIT_S = 5.0


@dataclass
class Tap:
    """One leg being listened to: its snoop and externalMedia channels, their bridge, the RTP leg."""

    call_id: str
    speaker: Speaker
    channel_id: str
    name: str
    leg: LiveLeg
    opened_at: float = 0.0  # event-loop time the leg started receiving (its audio clock's zero)

    @property
    def snoop_id(self) -> str:
        return f"snoop-{self.name}"

    @property
    def media_id(self) -> str:
        return f"xm-{self.name}"

    @property
    def bridge_id(self) -> str:
        return f"speech-{self.name}"


class CallSpeech:
    """Bus subscriber giving calls their transcripts; `start()` / `stop()`."""

    def __init__(self, calls: CallContext, speech: SpeechService, ari: AriClient, recordings: Path,
                 bus: EventBus) -> None:
        self.calls, self.speech, self.ari, self.recordings, self.bus = calls, speech, ari, recordings, bus
        self.live = LiveTranscription(speech, self.on_segment)
        self.taps: dict[str, list[Tap]] = {}
        self.described: set[str] = set()
        self.jobs: set[asyncio.Task[Any]] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._serial = itertools.count(1)
        self._stack = AsyncExitStack()
        self._loops: list[asyncio.Task[Any]] = []

    # --- lifecycle -------------------------------------------------------------------------------------
    async def start(self) -> None:
        events = await self._stack.enter_async_context(self.bus.subscribe())
        self._loops = [asyncio.create_task(self._listen(events)),
                       asyncio.create_task(self.ari.run_events(self._on_ari, self._reconcile))]
        self.spawn(self._preload())

    async def stop(self) -> None:
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        for call_id in list(self.taps):
            await self._untap(call_id)
        for task in list(self.jobs):
            task.cancel()
        await asyncio.gather(*self.jobs, return_exceptions=True)
        await self.live.close()
        await self._stack.aclose()
        await self.ari.close()

    async def idle(self, timeout: float = 120.0) -> None:
        """Wait until no background job is left (tests, shutdown)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.jobs and loop.time() < deadline:
            await asyncio.wait(list(self.jobs), timeout=deadline - loop.time())

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self.jobs.add(task)
        task.add_done_callback(self.jobs.discard)

    async def _preload(self) -> None:
        try:
            await self.speech.load()
        except EngineUnavailable as exc:
            log.warning("live transcription unavailable: %s", exc)

    # --- bus in ----------------------------------------------------------------------------------------
    async def _listen(self, events: asyncio.Queue[BusEvent]) -> None:
        while True:
            event = await events.get()
            if event.topic == "call" and "call_id" in event.data:
                self.spawn(self._in_order(event))

    async def _in_order(self, event: BusEvent) -> None:
        """Events of one call are handled one after the other (answered before ended)."""
        call_id = str(event.data["call_id"])
        lock = self._locks.setdefault(call_id, asyncio.Lock())
        async with lock:
            try:
                await self.on_call_event(event.kind, call_id, event.data)
            except Exception:
                log.exception("speech for call %s failed on %s", call_id, event.kind)
        if event.kind == "ended":
            self._locks.pop(call_id, None)

    async def on_call_event(self, kind: str, call_id: str, data: dict[str, Any]) -> None:
        if kind == "answered":
            await self._tap_call(call_id)
        elif kind == "enqueued":
            await self._describe_from_record(call_id)
        elif kind == "message_left" and data.get("path"):
            self._describe(call_id, str(data["path"]))
        elif kind == "ended":
            await self._untap(call_id)
            self.described = {name for name in self.described if call_id not in name}
            self.spawn(self._after_call(call_id))

    # --- live: taps on both legs -------------------------------------------------------------------------
    async def _tap_call(self, call_id: str) -> None:
        call = self.calls.routes.calls.get(call_id)
        if call is None:
            return
        current = (call.channel_id, call.agent_channel)
        for tap in [t for t in self.taps.get(call_id, []) if t.channel_id not in current]:
            self.taps[call_id].remove(tap)  # a transferred-away agent: their leg is gone
            await self._close_tap(tap)
        tapped = {t.channel_id for t in self.taps.get(call_id, [])}
        for speaker, channel_id in (("caller", call.channel_id), ("agent", call.agent_channel)):
            if channel_id and channel_id not in tapped:
                await self._tap(call_id, speaker, channel_id)  # type: ignore[arg-type]

    async def _tap(self, call_id: str, speaker: Speaker, channel_id: str) -> None:
        try:
            leg = await self.live.open_leg(call_id, speaker, codec=CODEC)
        except EngineUnavailable as exc:
            log.info("call %s not transcribed live: %s", call_id, exc)
            return
        tap = Tap(call_id, speaker, channel_id, f"{call_id}-{speaker}-{next(self._serial)}", leg,
                  asyncio.get_running_loop().time())
        self.taps.setdefault(call_id, []).append(tap)
        try:
            await asyncio.wait_for(self.ari.connected.wait(), 10)
            await self._wire(tap)
        except (AriError, TimeoutError) as exc:
            log.warning("call %s: no live audio of the %s (%s)", call_id, speaker, exc)
            self.taps[call_id].remove(tap)
            await self._close_tap(tap)

    async def _wire(self, tap: Tap) -> None:
        """snoop(spy=in) + externalMedia(RTP → the leg's port), bridged: Asterisk streams that voice to us."""
        await self.ari.snoop(tap.channel_id, tap.snoop_id, spy="in", whisper="none",
                             app_args=AppArgs(LegKind.SNOOP, tap.call_id).encode())
        await self.ari.request("POST", "/channels/externalMedia", params={
            "channelId": tap.media_id, "app": self.ari.app, "external_host": f"{tap.leg.host}:{tap.leg.port}",
            "format": CODEC, "encapsulation": "rtp", "transport": "udp", "connection_type": "client",
            "direction": "both"})
        await self.ari.create_bridge(tap.bridge_id)
        await self._add_when_in_stasis(tap.bridge_id, tap.snoop_id, tap.media_id)

    async def _add_when_in_stasis(self, bridge_id: str, *channel_ids: str, wait_s: float = 5.0) -> None:
        """Bridge new channels once Asterisk has put them into our application. Snoop and externalMedia return
        before their channel has entered Stasis; on a loaded machine addChannel then answers 422 "Channel not in
        Stasis application" (seen on 2 cores running the speech tests beside a call), so try again briefly."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while True:
            try:
                await self.ari.add_to_bridge(bridge_id, *channel_ids)
                return
            except AriError as exc:
                if exc.status != 422 or loop.time() >= deadline:
                    raise
            await asyncio.sleep(0.05)

    async def _untap(self, call_id: str) -> None:
        for tap in self.taps.pop(call_id, []):
            await self._close_tap(tap)

    async def _close_tap(self, tap: Tap) -> None:
        for channel_id in (tap.snoop_id, tap.media_id):
            with contextlib.suppress(AriError):  # gone with the call already
                await self.ari.hangup(channel_id)
        with contextlib.suppress(AriError):
            await self.ari.destroy_bridge(tap.bridge_id)
        await tap.leg.close()  # flushes the last utterance as a final segment

    def on_segment(self, event: SegmentEvent) -> None:
        self.publish("segment", {"call_id": event.call_id, "speaker": event.speaker, "seq": event.seq,
                                 "start": event.start, "end": event.end, "text": event.text,
                                 "is_final": event.is_final, "lag_s": self._lag(event)})

    def _lag(self, event: SegmentEvent) -> float | None:
        """Seconds from the end of the utterance (on the leg's audio clock) to its text being ready."""
        tap = next((t for t in self.taps.get(event.call_id, []) if t.speaker == event.speaker), None)
        if tap is None:
            return None
        return round(asyncio.get_running_loop().time() - (tap.opened_at + event.end), 2)

    # --- the IVR description ----------------------------------------------------------------------------
    async def _describe_from_record(self, call_id: str) -> None:
        record = await self._record(call_id)
        name = record.get("description_recording") if record else None
        if name:
            self._describe(call_id, str(name))

    def _describe(self, call_id: str, name: str) -> None:
        if name in self.described:
            return
        self.described.add(name)
        self.spawn(self._transcribe_description(call_id, self.recordings / Path(name).name))

    async def _transcribe_description(self, call_id: str, path: Path) -> None:
        if not await wait_for_file(path):
            log.warning("call %s: description recording %s not found", call_id, path)
            return
        transcript_id, result = await self.speech.transcribe_and_store(str(path), call_id, "description")
        data: dict[str, Any] = {"call_id": call_id, "transcript_id": transcript_id}
        if result is not None:
            data.update({k: result.get(k) for k in ("text", "suggested_class", "suggested_place", "summary")})
        else:
            data["error"] = "转写失败"
        self.publish("description", data)

    # --- after the call ----------------------------------------------------------------------------------
    async def _after_call(self, call_id: str) -> None:
        assembled = await self.speech.assemble_live(call_id)
        if assembled is not None:
            transcript_id, result = assembled
            self.publish("conversation", {"call_id": call_id, "transcript_id": transcript_id, "source": "live",
                                          **result})
        record = await self._record(call_id)
        name = record.get("call_recording") if record else None
        if name:
            path = self.recordings / Path(str(name)).name
            if await wait_for_file(path):
                transcript_id, found = await self.speech.transcribe_and_store(str(path), call_id, "recording")
                self.publish("conversation", {
                    "call_id": call_id, "transcript_id": transcript_id, "source": "recording",
                    "text": found.get("text") if found else None, "summary": found.get("summary") if found else None})

    async def _record(self, call_id: str) -> dict[str, Any] | None:
        return await self.calls.rows.get(call_id)

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        self.bus.publish(BusEvent(TOPIC, kind, self.calls.clock(), data))

    # --- our own Stasis application ------------------------------------------------------------------------
    def _on_ari(self, event: Event) -> None:
        """Our snoop and externalMedia channels report here; nothing to do (hang-ups come from the bus)."""

    async def _reconcile(self) -> None:
        """After a (re)connect: hang up our app's channels and destroy our bridges no call owns any more."""
        known = {n for taps in self.taps.values() for t in taps for n in (t.snoop_id, t.media_id, t.bridge_id)}
        for channel in await self.ari.list_channels():
            mine = channel.app_name == "Stasis" and in_app(channel.app_data, self.ari.app)
            if mine and channel.id not in known:
                with contextlib.suppress(AriError):
                    await self.ari.hangup(channel.id)
        for bridge in await self.ari.list_bridges():
            if bridge.id.startswith("speech-") and bridge.id not in known and not bridge.channels:
                with contextlib.suppress(AriError):
                    await self.ari.destroy_bridge(bridge.id)


async def wait_for_file(path: Path, timeout: float = FILE_WAIT_S) -> bool:
    """True once `path` exists and its size stopped growing (Asterisk finished writing it)."""
    loop = asyncio.get_running_loop()
    deadline, size = loop.time() + timeout, -1
    while loop.time() < deadline:
        current = path.stat().st_size if path.is_file() else -1
        if current > 44 and current == size:
            return True
        size = current
        await asyncio.sleep(0.2)
    return False


def speech_ari_client(tel: TelephonySettings) -> AriClient:
    """An ARI client of our own Stasis application, with the runtime's URL and credentials."""
    return AriClient(tel.ari_url, tel.ari_user, ari_password(tel), tel.app_name + APP_SUFFIX)


def unavailable(settings: SpeechSettings) -> str | None:
    """Why calls cannot be transcribed (engine off, model missing), or None."""
    from transcribe.models import verify_vosk_model, verify_whisper_base

    try:
        if settings.engine == "none":
            return "语音识别已关闭（speech.engine: none）"
        if settings.engine == "vosk":
            verify_vosk_model(settings.resolve(settings.vosk_model_path))
        else:
            verify_whisper_base(settings.whisper_dir())
    except EngineUnavailable as exc:
        return str(exc)
    return None


def build(calls: CallContext, speech: SpeechService, tel: TelephonySettings) -> CallSpeech:
    return CallSpeech(calls, speech, speech_ari_client(tel), recordings_dir(tel), calls.rows.bus)

