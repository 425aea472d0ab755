"""Carry out a pure IVR session's actions on one channel over ARI, and feed the answers back.

The session (`ivr.inbound.InboundSession`, `ivr.survey.SurveySession`) decides; this runner plays prompts,
records, arms timers and hangs up, and turns the channel's ARI events into IVR events. Actions that belong
to the call's owner (queue, case lookup, callbacks, survey answers) go to its `handle_action`, which may
answer with an IVR event. Actions run in list order; answers are fed after the whole list has run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from callcenter.ari.ari_events import (
    ChannelDtmfReceived,
    PlaybackFinished,
    RecordingFailed,
    RecordingFinished,
)
from callcenter.ari.client import AriClient, AriError
from callcenter.call import Call, Item, TimerFired
from callcenter.recording_space import RecordingRoom
from ivr.actions import CancelTimer, CollectDigits, HangUp, IvrAction, Play, Record, StartTimer, StopPrompts
from ivr.machine import IvrProtocolError, Session
from ivr.session_events import ActionFailed, CallerHungUp, Digit, IvrEvent, PromptFinished, Timeout
from ivr.session_events import RecordingFinished as IvrRecordingFinished

log = logging.getLogger(__name__)
ActionHandler = Callable[[IvrAction], Awaitable[IvrEvent | None]]
Unrecorded = Callable[[dict[str, Any]], Awaitable[None]]
DTMF = frozenset("0123456789*#")


def sound(prompt_id: str) -> str:
    return f"sound:hotline12319/zh/{prompt_id}"


class SessionRunner:
    """One session on one channel (None: no IVR, e.g. an adopted caller; only hold and timers work).
    `hold=True` puts the channel on music on hold whenever nothing plays."""

    def __init__(self, client: AriClient, call: Call, session: Session | None, handle_action: ActionHandler,
                 clock: Callable[[], datetime], *, room: RecordingRoom | None = None,
                 unrecorded: Unrecorded | None = None) -> None:
        self.ari, self.call, self.session = client, call, session
        self.handle_action, self.clock = handle_action, clock
        self.room, self.unrecorded = room, unrecorded  # recordings: room checked; `unrecorded(detail)` on a miss
        self.plays: dict[str, str] = {}  # ARI playback id -> the session's play id
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.recording: str | None = None
        self.recording_purpose = ""
        self.hold = False
        self._moh = False
        self.hangup_reason: str | None = None
        self._serial = 0

    @property
    def target(self) -> str:
        return f"channel:{self.call.channel_id}"

    # --- events in --------------------------------------------------------------------------------------
    def translate(self, item: Item) -> IvrEvent | None:
        """The IVR event for a mailbox item of this channel, or None when it means nothing to the session."""
        if isinstance(item, ChannelDtmfReceived) and item.channel.id == self.call.channel_id:
            return Digit(item.digit) if item.digit in DTMF else None
        if isinstance(item, PlaybackFinished) and item.playback.id in self.plays:
            return PromptFinished(self.plays.pop(item.playback.id))
        if isinstance(item, RecordingFinished | RecordingFailed) and item.recording.name == self.recording:
            self.recording = None
            if isinstance(item, RecordingFailed):
                return ActionFailed("Record", item.recording.cause)
            return IvrRecordingFinished(f"{item.recording.name}.wav", float(item.recording.duration or 0))
        if isinstance(item, TimerFired) and not item.kind.startswith("_"):
            self.timers.pop(item.kind, None)
            return Timeout(item.kind, item.token)
        return None

    async def on_item(self, item: Item) -> None:
        event = self.translate(item)
        if (isinstance(event, IvrRecordingFinished) and event.duration_s >= 1 and self.room is not None
                and self.room.missing(event.path)):
            # Asterisk reports audio it never wrote (the disk filled up meanwhile): no recording to name. A
            # recording of under a second is the session's "nothing said", whatever is on disk.
            event = await self.not_recorded("file_missing", path=event.path)
        if event is not None:
            await self.feed(event)
        if isinstance(item, PlaybackFinished):
            await self.sync_hold()

    async def caller_gone(self) -> None:
        if self.session is not None and not self.session.finished:
            await self.feed(CallerHungUp())
        self.cancel_timers()

    async def feed(self, event: IvrEvent) -> None:
        """Hand `event` to the session and run what it asks for; answers are fed in turn."""
        session = self.session
        pending: deque[IvrEvent] = deque([event])
        while session is not None and pending and not session.finished:
            current = pending.popleft()
            log.debug("call %s: IVR event %r", self.call.id, current)
            try:
                actions = session.handle(current, self.clock())
            except IvrProtocolError as exc:  # the session is unchanged: log and carry on
                log.warning("call %s: IVR refused %r: %s", self.call.id, current, exc)
                continue
            for action in actions:
                answer = await self.execute(action)
                if answer is not None:
                    pending.append(answer)

    # --- actions out -------------------------------------------------------------------------------------
    async def execute(self, action: IvrAction) -> IvrEvent | None:
        try:
            return await self._execute(action)
        except AriError as exc:
            log.info("call %s: %s failed: %s", self.call.id, type(action).__name__, exc)
            return ActionFailed(type(action).__name__, exc.message)

    async def _execute(self, action: IvrAction) -> IvrEvent | None:
        if isinstance(action, Play):
            await self.play(action)
        elif isinstance(action, StopPrompts):
            await self.stop_prompts()
        elif isinstance(action, CollectDigits):
            log.debug("call %s collects up to %d digits", self.call.id, action.max_digits)
        elif isinstance(action, Record):
            return await self.take_recording(action)
        elif isinstance(action, StartTimer):
            self.start_timer(action.kind, action.seconds, action.token)
        elif isinstance(action, CancelTimer):
            self.cancel_timer(action.kind)
        elif isinstance(action, HangUp):
            self.hangup_reason = action.reason
            self.cancel_timers()
            with contextlib.suppress(AriError):  # the caller may be gone already
                await self.ari.hangup(self.call.channel_id)
        else:
            return await self.handle_action(action)
        return None

    async def play(self, action: Play) -> None:
        await self.set_moh(False)
        # Asterisk queues playbacks of one channel in order, so a Play can start at once.
        playback = await self.ari.play(self.target, [sound(p) for p in action.prompt_ids()])
        self.plays[playback.id] = action.play_id

    async def stop_prompts(self) -> None:
        for playback_id in list(self.plays):
            with contextlib.suppress(AriError):  # it may have finished meanwhile
                await self.ari.stop_playback(playback_id)

    async def take_recording(self, action: Record) -> IvrEvent | None:
        """Start recording, or answer ActionFailed at once when the recording folder is short of space (the
        session goes on without it: a description's caller is queued for an agent all the same)."""
        self.recording_purpose = action.purpose
        free = self.room.short() if self.room is not None else None
        if free is not None:
            return await self.not_recorded("disk_full", free_bytes=free)
        self._serial += 1
        name = f"{action.purpose}-{self.call.id}-{self._serial}"
        self.recording = name
        await self.ari.start_recording(self.target, name, max_duration_s=action.max_seconds,
                              max_silence_s=action.max_silence_seconds, terminate_on=action.terminator,
                              beep=action.beep)

    async def not_recorded(self, reason: str, **detail: object) -> IvrEvent:
        """The IVR recording could not be kept: logged as an error, told to the call's owner (a
        `recording_unavailable` event on the call, published to supervisors), answered as ActionFailed."""
        folder = self.room.folder if self.room is not None else None
        log.error("call %s: %s recording unavailable (%s) in %s %s", self.call.id, self.recording_purpose, reason,
                  folder, detail)
        if self.unrecorded is not None:
            await self.unrecorded({"purpose": self.recording_purpose, "reason": reason, **detail})
        return ActionFailed("Record", reason)

    def start_timer(self, kind: str, seconds: float, token: int = 0) -> None:
        self.cancel_timer(kind)
        loop = asyncio.get_running_loop()
        self.timers[kind] = loop.call_later(seconds, self.call.mailbox.put_nowait, TimerFired(kind, token))

    def cancel_timer(self, kind: str) -> None:
        handle = self.timers.pop(kind, None)
        if handle is not None:
            handle.cancel()

    def cancel_timers(self) -> None:
        for kind in list(self.timers):
            self.cancel_timer(kind)

    # --- music on hold while queued ------------------------------------------------------------------------
    async def sync_hold(self) -> None:
        await self.set_moh(self.hold and not self.plays and not self.call.gone)

    async def set_moh(self, on: bool) -> None:
        if on != self._moh:
            self._moh = on
            with contextlib.suppress(AriError):
                await self.ari.moh(self.call.channel_id, on)
