"""The session runner carries out the pure IVR's actions and feeds ARI events back (fake ARI, no I/O)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from callcenter.ari.ari_events import Playback, parse_event
from callcenter.ari.client import AriError
from callcenter.call import Call, TimerFired
from callcenter.ivr_exec import SessionRunner
from callcenter.recording_space import RecordingRoom
from ivr.actions import Enqueue, IvrAction, LookupCase
from ivr.inbound import InboundSession, InboundState
from ivr.loader import load_inbound_flow
from ivr.session_events import CallStarted, CaseStatus, CaseStatusLooked, IvrEvent

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Haiyan


class FakeAri:
    def __init__(self, fail_play: bool = False) -> None:
        self.plays: list[list[str]] = []
        self.stopped: list[str] = []
        self.recordings: list[dict[str, Any]] = []
        self.hung_up: list[str] = []
        self.moh: list[bool] = []
        self.fail_play = fail_play

    async def play(self, target: str, media: list[str]) -> Playback:
        if self.fail_play:
            raise AriError(404, "Channel not found")
        self.plays.append([m.rsplit("/", 1)[-1] for m in media])
        return Playback(f"pb{len(self.plays)}", "", target, "queued")

    async def stop_playback(self, playback_id: str) -> None:
        self.stopped.append(playback_id)

    async def start_recording(self, target: str, name: str, **options: Any) -> None:
        self.recordings.append({"name": name, **options})

    async def hangup(self, channel_id: str) -> None:
        self.hung_up.append(channel_id)

    async def moh(self, channel_id: str, on: bool) -> None:
        self.moh.append(on)


def dtmf(digit: str) -> Any:
    return parse_event({"type": "ChannelDtmfReceived", "channel": {"id": "c1", "name": "PJSIP/citizens-1"},
                        "digit": digit})


def finished(playback_id: str) -> Any:
    return parse_event({"type": "PlaybackFinished", "playback": {"id": playback_id,
                                                                 "target_uri": "channel:c1"}})


class Harness:
    def __init__(self, ari: FakeAri, lookup: CaseStatus | None = None) -> None:
        self.actions: list[IvrAction] = []
        self.lookup = lookup
        self.call = Call("call1", "c1", "13800000000", NOW)
        self.session = InboundSession(load_inbound_flow())
        self.runner = SessionRunner(ari, self.call, self.session, self.handle, lambda: NOW)  # type: ignore[arg-type]

    async def handle(self, action: IvrAction) -> IvrEvent | None:
        self.actions.append(action)
        if isinstance(action, LookupCase):
            return CaseStatusLooked(action.case_no, self.lookup)
        return None


async def test_menu_1_plays_the_record_prompt_then_records_the_description() -> None:
    ari = FakeAri()
    h = Harness(ari)
    await h.runner.feed(CallStarted("13800000000"))
    assert ari.plays == [["greeting", "menu"]]
    await h.runner.on_item(dtmf("1"))
    assert ari.stopped == ["pb1"] and ari.plays[-1] == ["record_after_tone"]
    await h.runner.on_item(finished("pb1"))  # the stopped greeting: tolerated
    await h.runner.on_item(finished("pb2"))
    assert ari.recordings[0]["name"] == "description-call1-1"
    assert ari.recordings[0]["terminate_on"] == "#" and ari.recordings[0]["max_duration_s"] == 60
    assert h.session.state == InboundState.RECORDING


async def test_progress_query_reads_the_case_and_arms_the_input_timer() -> None:
    ari = FakeAri()
    h = Harness(ari, CaseStatus("202611260001", "dispatched", datetime(2026, 11, 28, 9, 30)))
    await h.runner.feed(CallStarted("13800000000"))
    for key in "2202611260001#":
        await h.runner.on_item(dtmf(key))
    assert [a for a in h.actions if isinstance(a, LookupCase)] == [LookupCase("202611260001")]
    reading = ari.plays[-1]
    assert reading[0] == "case_number_is" and "state_handling" in reading and "case_deadline_is" in reading
    await h.runner.on_item(finished(f"pb{len(ari.plays)}"))
    assert "input" in h.runner.timers  # the menu waits for a key again
    h.runner.cancel_timers()


async def test_a_timer_fires_with_its_token_and_a_stale_one_is_ignored() -> None:
    ari = FakeAri()
    h = Harness(ari)
    await h.runner.feed(CallStarted("13800000000"))
    await h.runner.on_item(finished("pb1"))
    assert "input" in h.runner.timers
    await h.runner.on_item(TimerFired("input", 999))  # stale token: nothing happens
    assert h.session.state == InboundState.MENU and len(ari.plays) == 1
    token = h.session.context.timers["input"]
    await h.runner.on_item(TimerFired("input", token))
    assert ari.plays[-1] == ["no_input", "menu"]
    h.runner.cancel_timers()


async def test_a_failed_prompt_hands_the_caller_to_an_agent() -> None:
    h = Harness(FakeAri(fail_play=True))
    await h.runner.feed(CallStarted("13800000000"))
    enqueued = [a for a in h.actions if isinstance(a, Enqueue)]
    assert enqueued and enqueued[0].reason == "error"


async def test_timers_post_into_the_call_mailbox() -> None:
    h = Harness(FakeAri())
    h.runner.start_timer("input", 0.01, 5)
    assert await asyncio.wait_for(h.call.mailbox.get(), 1) == TimerFired("input", 5)


async def test_blocklisted_caller_is_hung_up_after_the_notice() -> None:
    ari = FakeAri()
    h = Harness(ari)
    await h.runner.feed(CallStarted("13800000000", blocked=True))
    await h.runner.on_item(finished("pb1"))
    assert ari.plays == [["blocked"]] and ari.hung_up == ["c1"] and h.runner.hangup_reason == "blocked"


def recording_finished(name: str, duration: int = 5) -> Any:
    return parse_event({"type": "RecordingFinished", "recording": {"name": name, "format": "wav",
                                                                   "target_uri": "channel:c1", "state": "done",
                                                                   "duration": duration}})


async def _to_recording(ari: FakeAri, room: RecordingRoom, told: list[dict[str, Any]]) -> Harness:
    h = Harness(ari)

    async def unrecorded(detail: dict[str, Any]) -> None:
        told.append(detail)

    h.runner.room, h.runner.unrecorded = room, unrecorded
    await h.runner.feed(CallStarted("13800000000"))
    await h.runner.on_item(dtmf("1"))
    await h.runner.on_item(finished("pb2"))  # the record prompt ends: the description would be recorded now
    return h


async def test_no_room_for_the_description_queues_the_caller_with_no_recording_named(tmp_path: Path) -> None:
    ari, told = FakeAri(), []
    h = await _to_recording(ari, RecordingRoom(tmp_path, min_free_mb=10**9), told)  # never that much free
    assert ari.recordings == [], "nothing asked of Asterisk"
    assert told and told[0]["purpose"] == "description" and told[0]["reason"] == "disk_full"
    assert told[0]["free_bytes"] >= 0
    enqueued = [a for a in h.actions if isinstance(a, Enqueue)]
    assert enqueued and enqueued[0].recording is None and h.session.state == InboundState.QUEUED
    h.runner.cancel_timers()


async def test_a_finished_recording_whose_file_is_missing_or_empty_is_not_named(tmp_path: Path) -> None:
    for content in (None, b"RIFF" + b"\0" * 40):  # never written / a header without audio
        ari, told = FakeAri(), []
        h = await _to_recording(ari, RecordingRoom(tmp_path, min_free_mb=0), told)
        name = ari.recordings[0]["name"]
        if content is not None:
            (tmp_path / f"{name}.wav").write_bytes(content)
        await h.runner.on_item(recording_finished(name))
        assert told and told[0]["reason"] == "file_missing" and told[0]["path"] == f"{name}.wav"
        enqueued = [a for a in h.actions if isinstance(a, Enqueue)]
        assert enqueued and enqueued[0].recording is None
        h.runner.cancel_timers()


async def test_a_recording_on_disk_is_named(tmp_path: Path) -> None:
    ari, told = FakeAri(), []
    h = await _to_recording(ari, RecordingRoom(tmp_path, min_free_mb=0), told)
    name = ari.recordings[0]["name"]
    (tmp_path / f"{name}.wav").write_bytes(b"RIFF" + b"\1" * 8000)
    await h.runner.on_item(recording_finished(name))
    enqueued = [a for a in h.actions if isinstance(a, Enqueue)]
    assert told == [] and enqueued and enqueued[0].recording == f"{name}.wav"
    h.runner.cancel_timers()


async def test_a_silent_recording_is_nothing_said_whatever_is_on_disk(tmp_path: Path) -> None:
    ari, told = FakeAri(), []
    h = await _to_recording(ari, RecordingRoom(tmp_path, min_free_mb=0), told)
    await h.runner.on_item(recording_finished(ari.recordings[0]["name"], duration=0))  # no file at all
    enqueued = [a for a in h.actions if isinstance(a, Enqueue)]
    assert told == [] and enqueued and enqueued[0].recording is None and enqueued[0].reason == "report"
    h.runner.cancel_timers()
