"""What happens to an inbound call: IVR, queue, ringing an agent, the bridged conversation.

Written as one coroutine per call that reads the call's mailbox; the decisions about agents come from the
ACD core. Until the colleague's IVR session (`ivr/`) is wired in, a minimal built-in flow runs:
greeting + menu → (1) record a description ended by # → queue; (2) case progress; (0/none) → queue.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from callcenter.acd import AnswerCall, CancelRing, RingNoAnswer
from callcenter.ari.client import AriError
from callcenter.ari.events import (
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelHangupRequest,
    RecordingFailed,
    RecordingFinished,
    StasisEnd,
    StasisStart,
)
from callcenter.call import Call, CallerGone, Item, Tick, on_channel

if TYPE_CHECKING:
    from callcenter.runtime import CallRuntime

log = logging.getLogger(__name__)
MENU_WAIT_S = 6.0


def sound(prompt_id: str) -> str:
    return f"sound:hotline12319/zh/{prompt_id}"


class CallFlow:
    def __init__(self, rt: CallRuntime, call: Call) -> None:
        self.rt = rt
        self.call = call
        self.ari = rt.client

    async def play(self, *prompts: str, barge_in: bool = True, target: str | None = None) -> bool:
        """Play prompts on the caller; True when a key interrupted them (the key stays buffered)."""
        playback = await self.ari.play(target or f"channel:{self.call.channel_id}", [sound(p) for p in prompts])
        interrupted = await self.call.playback_done(playback.id, 120, barge_in=barge_in)
        if interrupted:
            with contextlib.suppress(AriError):  # it may have ended on its own meanwhile
                await self.ari.stop_playback(playback.id)
        return interrupted

    async def key(self, timeout: float) -> str:
        if not self.call.digits:
            await self.call.until(lambda i: isinstance(i, ChannelDtmfReceived), timeout)
        return self.call.digits.pop(0) if self.call.digits else ""

    async def keys_until_hash(self, timeout: float) -> str:
        await self.call.until(lambda i: "#" in self.call.digits, timeout)
        return self.call.take_digits().split("#", 1)[0]

    # --- IVR ----------------------------------------------------------------------------------------------
    async def ivr(self) -> str:
        """Return why the call goes to the queue ("report", "agent", "no_input"), or "" to end it."""
        await self.play("greeting", "menu")
        choice = await self.key(MENU_WAIT_S)
        if choice == "1":
            await self.record_description()
            await self.play("thanks", "transferring", barge_in=False)
            return "report"
        if choice == "2":
            return await self.case_query()
        return "agent" if choice == "0" else "no_input"

    async def record_description(self) -> None:
        await self.play("record_after_tone", barge_in=False)
        self.call.take_digits()
        name = f"desc-{self.call.id}"
        await self.ari.record(f"channel:{self.call.channel_id}", name, max_duration_s=120,
                              max_silence_s=8, terminate_on="#", beep=True)
        await self.call.until(lambda i: isinstance(i, RecordingFinished | RecordingFailed)
                              and i.recording.name == name, 130)
        self.call.take_digits()  # the terminating '#'
        await self.rt.record(self.call, description_recording=f"{name}.wav")

    async def case_query(self) -> str:
        await self.play("case_enter_number")
        case_no = await self.keys_until_hash(20)
        status = await self.rt.lookup_case(case_no) if case_no else None
        await self.rt.record(self.call, case_no=case_no or None)
        if status is None:
            await self.play("case_not_found")
        else:
            await self.play("case_state_is", f"state_{status}")
        await self.play("goodbye", barge_in=False)
        return ""

    # --- queue and agent ------------------------------------------------------------------------------------
    async def wait_in_queue(self) -> str:
        """Wait for an agent; announce the position; offer a callback. Return the agent who answered."""
        await self.ari.moh(self.call.channel_id, True)
        announced = False
        while True:
            item = await self.call.next(self.rt.tel_announce_s)
            if item is None or isinstance(item, Tick):
                announced = await self.announce(announced)
            while self.call.offers:
                agent_id = self.call.offers.pop(0).agent_id
                if await self.ring(agent_id):
                    return agent_id
            if announced and "1" in self.call.take_digits():
                await self.rt.to_callback(self.call)
                await self.ari.moh(self.call.channel_id, False)
                await self.play("callback_confirmed", barge_in=False)
                raise CallerGone

    async def announce(self, announced: bool) -> bool:
        if self.call.waiting is None or self.call.agent_channel:
            return announced
        ahead = self.rt.acd.ahead_of(self.call.id)
        prompts = ["queue_next"] if ahead == 0 else [
            "queue_position_before", f"digit_{min(ahead, 9)}", "queue_position_after"]
        await self.ari.moh(self.call.channel_id, False)
        await self.play(*prompts, "callback_offer")
        await self.ari.moh(self.call.channel_id, True)
        return True

    async def ring(self, agent_id: str) -> bool:
        """Originate to the agent's phone; True when answered, else re-queued in place."""
        call, rt = self.call, self.rt
        call.agent_id, call.agent_channel = agent_id, f"{call.id}-{agent_id}-{len(call.path)}{rt.next_n()}"
        rt.own(call.agent_channel, call)
        await rt.record(call, ring_at=rt.now(), agent_id=agent_id)
        await rt.log(call, "ringing", agent_id=agent_id)
        try:
            await self.ari.originate(f"PJSIP/{agent_id}", channel_id=call.agent_channel,
                                     timeout_s=rt.tel.ring_timeout_s, app_args=f"agent,{call.id}",
                                     caller_id=call.caller)
            item = await call.until(lambda i: on_channel(i, call.agent_channel, StasisStart, ChannelDestroyed),
                                    rt.tel.ring_timeout_s + 5)
        except CallerGone:
            await self.drop_agent(CancelRing(call.id))
            raise
        except AriError as exc:
            log.info("originate to %s failed: %s", agent_id, exc)
            item = None
        if isinstance(item, StasisStart):
            rt.acd.command(agent_id, AnswerCall(call.id))
            return True
        await self.drop_agent(RingNoAnswer(call.id))
        await rt.log(call, "no_answer", agent_id=agent_id)
        rt.requeue(call)
        return False

    async def drop_agent(self, command: object) -> None:
        call = self.call
        if call.agent_channel:
            with contextlib.suppress(AriError):  # already gone
                await self.ari.hangup(call.agent_channel)
            self.rt.disown(call.agent_channel)
        if call.agent_id:
            self.rt.acd.command(call.agent_id, command)
        call.agent_id = call.agent_channel = None

    async def converse(self) -> str:
        """Bridge caller and agent, record both voices; return who hung up."""
        call, rt = self.call, self.rt
        assert call.agent_channel
        await self.ari.moh(call.channel_id, False)
        call.bridge_id = f"call-{call.id}"
        rt.own(call.bridge_id, call)
        await self.ari.create_bridge(call.bridge_id)
        await self.ari.add_to_bridge(call.bridge_id, call.channel_id, call.agent_channel)
        name = f"call-{call.id}"
        if rt.tel.record_calls:
            await self.ari.record(f"bridge:{call.bridge_id}", name)
        await rt.record(call, answered_at=rt.now(), call_recording=f"{name}.wav" if rt.tel.record_calls else None)
        await rt.log(call, "answered", agent_id=call.agent_id)
        try:
            await call.until(lambda i: self.agent_left(i), 24 * 3600)
        except CallerGone:
            with contextlib.suppress(AriError):
                await self.ari.hangup(call.agent_channel)
            return "caller"
        with contextlib.suppress(AriError):
            await self.ari.hangup(call.channel_id)
        return "agent"

    def agent_left(self, item: Item) -> bool:
        return on_channel(item, self.call.agent_channel, ChannelHangupRequest, ChannelDestroyed, StasisEnd)
