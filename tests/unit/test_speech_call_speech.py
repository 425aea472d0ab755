"""callcenter.live_speech against a recording fake ARI: taps per leg on "answered", RTP over real loopback into
the live legs, teardown on "ended", the live transcript assembled and stored; setup() off when it must be."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from callcenter import live_speech
from callcenter.ari.client import AriError
from callcenter.context import CallRows
from callcenter.live_speech import CallSpeech
from callcenter.settings import TelephonySettings
from core.bus import BusEvent, EventBus
from core.clock import utc_now
from tests.unit.test_speech_rtp import FakeEngine, _send, _ulaw_packets, _until
from transcribe.repository import SqlTranscriptRepository
from transcribe.service import SpeechService, conversation_text
from transcribe.settings import SpeechSettings
from web.lifecycle import transcribes_calls


class FakeAri:
    app = "hotline-speech"

    def __init__(self) -> None:
        self.log: list[tuple[str, Any]] = []
        self.connected = asyncio.Event()
        self.connected.set()

    async def snoop(self, channel_id: str, snoop_id: str, *, spy: str, whisper: str, app_args: str) -> None:
        self.log.append(("snoop", (channel_id, snoop_id, spy, whisper)))

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None) -> None:
        self.log.append((path, params))

    async def create_bridge(self, bridge_id: str) -> None:
        self.log.append(("bridge", bridge_id))

    async def add_to_bridge(self, bridge_id: str, *channel_ids: str) -> None:
        self.log.append(("add", (bridge_id, *channel_ids)))

    async def hangup(self, channel_id: str) -> None:
        self.log.append(("hangup", channel_id))

    async def destroy_bridge(self, bridge_id: str) -> None:
        self.log.append(("destroy", bridge_id))

    async def run_events(self, on_event: Any, on_connect: Any) -> None:
        await on_connect()
        await asyncio.Event().wait()

    async def list_channels(self) -> list[Any]:
        return []

    async def list_bridges(self) -> list[Any]:
        return []

    async def close(self) -> None:
        self.log.append(("close", None))


async def test_answered_call_is_tapped_per_leg_and_torn_down_on_hangup(tmp_path: Path) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from core.db.base import metadata
    from transcribe.tables import speech_segments, speech_transcripts

    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all, tables=[speech_transcripts, speech_segments])
    repository = SqlTranscriptRepository(engine)
    speech = SpeechService(SpeechSettings(workers=1), engine=FakeEngine(), repository=repository)
    bus, ari = EventBus(), FakeAri()
    call = SimpleNamespace(channel_id="chan-caller", agent_channel="chan-agent")
    calls = SimpleNamespace(routes=SimpleNamespace(calls={"c1": call}), rows=CallRows(None, bus, utc_now),
                            clock=utc_now)
    subject = CallSpeech(calls, speech, ari, tmp_path, bus)  # type: ignore[arg-type]
    await subject.start()
    async with bus.subscribe() as seen:
        bus.publish(BusEvent("call", "answered", datetime.now(UTC), {"call_id": "c1"}))
        await _until(lambda: len(subject.taps.get("c1", [])) == 2 and len(ari.log) >= 8)
        call.agent_channel = "chan-agent2"  # blind transfer to another agent
        bus.publish(BusEvent("call", "answered", datetime.now(UTC), {"call_id": "c1"}))
        await _until(lambda: {t.channel_id for t in subject.taps["c1"]} == {"chan-caller", "chan-agent2"})
        assert len(subject.live.legs) == 2
        caller = next(t for t in subject.taps["c1"] if t.speaker == "caller")
        tone = (np.sin(np.arange(8000) / 8000 * 2 * np.pi * 440) * 8000).astype("<i2").tobytes()
        _send(caller.leg.port, _ulaw_packets(tone))
        await _until(lambda: caller.leg.position > 0.5)
        bus.publish(BusEvent("call", "ended", datetime.now(UTC), {"call_id": "c1"}))
        await asyncio.sleep(0.05)
        await subject.idle(5)
        events = [seen.get_nowait() for _ in range(seen.qsize())]
    await subject.stop()

    snoops = [entry[1] for entry in ari.log if entry[0] == "snoop"]
    assert {(s[0], s[2], s[3]) for s in snoops} == {("chan-caller", "in", "none"), ("chan-agent", "in", "none"),
                                                    ("chan-agent2", "in", "none")}
    media = [entry[1] for entry in ari.log if entry[0] == "/channels/externalMedia"]
    assert len(media) == 3 and all(m["external_host"].startswith("127.0.0.1:") and m["format"] == "ulaw"
                                   for m in media)
    hung = {entry[1] for entry in ari.log if entry[0] == "hangup"}
    assert hung == {s[1] for s in snoops} | {m["channelId"] for m in media}
    assert {entry[1] for entry in ari.log if entry[0] == "destroy"} == {
        entry[1] for entry in ari.log if entry[0] == "bridge"}
    assert not subject.live.legs and not subject.taps
    segments = [e.data for e in events if e.topic == "transcript" and e.kind == "segment"]
    assert any(s["speaker"] == "caller" and s["is_final"] for s in segments)
    live = [e.data for e in events if e.kind == "conversation"]
    assert live and live[0]["source"] == "live" and "市民：共16000字节" in live[0]["text"]
    stored = await repository.for_call("c1")
    assert [t.source for t in stored] == ["live"]
    assert await repository.live_segments("c1") == []  # all attached to the assembled transcript
    speech.close()
    await engine.dispose()


def test_conversation_text_labels_speakers() -> None:
    from transcribe.segments import SegmentEvent

    text = conversation_text([SegmentEvent("c", "caller", 0, 0, 1, "路灯壞了", True),
                              SegmentEvent("c", "agent", 0, 1, 2, "好的", True)])
    assert text == "市民：路灯坏了\n坐席：好的"


def test_calls_are_not_transcribed_without_telephony_or_model(tmp_path: Path) -> None:
    on = TelephonySettings(enabled=True)
    off_speech = SpeechService(SpeechSettings(engine="none"))
    no_model = SpeechService(SpeechSettings(models_dir=str(tmp_path)))
    for tel, speech in ((TelephonySettings(enabled=False), no_model), (on, off_speech), (on, no_model)):
        assert not transcribes_calls(tel, speech)
    assert "speech.engine: none" in (live_speech.unavailable(off_speech.settings) or "")
    assert live_speech.unavailable(no_model.settings)
    off_speech.close()
    no_model.close()


class SlowStasisAri(FakeAri):
    """Asterisk on a loaded machine: the new snoop/externalMedia channels enter Stasis only after a moment, so
    the first addChannel calls answer 422."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    async def add_to_bridge(self, bridge_id: str, *channel_ids: str) -> None:
        if self.refusals:
            self.refusals -= 1
            raise AriError(422, "Channel not in Stasis application")
        await super().add_to_bridge(bridge_id, *channel_ids)


async def test_legs_are_bridged_once_their_channels_have_entered_stasis(tmp_path: Path) -> None:
    speech = SpeechService(SpeechSettings(workers=1), engine=FakeEngine())
    bus, ari = EventBus(), SlowStasisAri(refusals=3)
    call = SimpleNamespace(channel_id="chan-caller", agent_channel="chan-agent")
    calls = SimpleNamespace(routes=SimpleNamespace(calls={"c1": call}), rows=CallRows(None, bus, utc_now),
                            clock=utc_now)
    subject = CallSpeech(calls, speech, ari, tmp_path, bus)  # type: ignore[arg-type]
    await subject.start()
    bus.publish(BusEvent("call", "answered", datetime.now(UTC), {"call_id": "c1"}))
    await _until(lambda: len([e for e in ari.log if e[0] == "add"]) == 2)
    assert {t.speaker for t in subject.taps["c1"]} == {"caller", "agent"} and ari.refusals == 0
    bus.publish(BusEvent("call", "ended", datetime.now(UTC), {"call_id": "c1"}))
    await asyncio.sleep(0.05)
    await subject.idle(5)
    await subject.stop()
    assert not subject.taps
