"""Live transcription of call legs: RTP in, segment events out, recognition off the event loop.

The telephony side (ARI externalMedia, one snoop channel per leg) uses it like this:

    live = LiveTranscription(speech_service, on_segment)
    leg = await live.open_leg(call_id, "caller", codec="ulaw")   # binds 127.0.0.1:<port>
    # ARI: channels/externalMedia?external_host={leg.host}:{leg.port}&format=ulaw&app=...
    ...
    await leg.close()        # on hangup: flushes the last utterance as a final segment

Audio is batched (`batch_ms`) and fed to the engine's stream in the service's bounded thread pool; a leg never
has more than one batch in flight, so a slow engine delays that leg's text but never the event loop. Final
segments are stored when the service has a repository.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from transcribe.ports import Final, Partial, Speaker, Stream
from transcribe.rtp import Codec, RtpReceiver
from transcribe.segments import SegmentEvent
from transcribe.service import SpeechService

log = logging.getLogger("hotline.speech")
SegmentHandler = Callable[[SegmentEvent], Awaitable[None] | None]


class LiveLeg:
    """One call leg being transcribed: an RTP receiver, an engine stream and a feeding task."""

    def __init__(self, owner: LiveTranscription, call_id: str, speaker: Speaker, codec: Codec,
                 batch_ms: int) -> None:
        self.owner, self.call_id, self.speaker = owner, call_id, speaker
        self.receiver = RtpReceiver(codec, self._audio, host=owner.service.settings.rtp_host,
                                    reorder_window=owner.service.settings.rtp_reorder_packets)
        self.batch_bytes = self.receiver.sample_rate * 2 * batch_ms // 1000
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.pending = bytearray()
        self.stream: Stream | None = None
        self.seq = 0
        self.position = 0.0  # seconds of audio fed
        self.utterance_start = 0.0
        self.task: asyncio.Task[None] | None = None
        self.closing = False
        self.host, self.port = "", 0

    async def start(self) -> None:
        engine = await self.owner.service.load()
        self.stream = engine.open_stream(self.receiver.sample_rate)
        self.host, self.port = await self.receiver.start()
        self.task = asyncio.create_task(self._feed(), name=f"speech-{self.call_id}-{self.speaker}")

    def _audio(self, pcm16: bytes) -> None:
        self.pending += pcm16
        if len(self.pending) >= self.batch_bytes:
            self.queue.put_nowait(bytes(self.pending))
            self.pending.clear()

    async def _feed(self) -> None:
        assert self.stream is not None
        while (chunk := await self.queue.get()) is not None:
            result = await self.owner.service.run(self.stream.accept, chunk)
            self.position += len(chunk) / 2 / self.receiver.sample_rate
            await self._emit(result)
        await self._emit(await self.owner.service.run(self.stream.finish))

    async def _emit(self, result: Partial | Final | None) -> None:
        if result is None or not result.text:
            return
        final = isinstance(result, Final)
        start, end = self.utterance_start, self.position
        if isinstance(result, Final) and result.segments:
            start, end = result.segments[0].start, result.segments[-1].end
        confidence = result.segments[0].confidence if isinstance(result, Final) and result.segments else None
        event = SegmentEvent(self.call_id, self.speaker, self.seq, round(start, 2), round(end, 2), result.text,
                             final, confidence)
        if final:
            self.seq += 1
            self.utterance_start = self.position
        await self.owner.publish(event)

    async def close(self) -> None:
        """Stop receiving, flush buffered audio and the engine; returns once the last final is published.

        Safe to call again, and from a closer that is itself cancelled (a call's job at shutdown): the flush is
        shielded and goes on, and the next close (LiveTranscription.close) waits for it.
        """
        if not self.closing:
            self.closing = True
            self.receiver.close()
            if self.pending:
                self.queue.put_nowait(bytes(self.pending))
                self.pending.clear()
            self.queue.put_nowait(None)
        if self.task is not None and not self.task.done():
            await asyncio.shield(self.task)
        if self in self.owner.legs:
            self.owner.legs.discard(self)
            self.owner.slots.release()


class LiveTranscription:
    """Opens legs up to `speech.max_streams`; publishes every segment event to `on_segment`."""

    def __init__(self, service: SpeechService, on_segment: SegmentHandler, *, batch_ms: int = 200) -> None:
        self.service, self.on_segment, self.batch_ms = service, on_segment, batch_ms
        self.slots = asyncio.Semaphore(service.settings.max_streams)
        self.legs: set[LiveLeg] = set()

    async def open_leg(self, call_id: str, speaker: Speaker, codec: Codec = "ulaw") -> LiveLeg:
        """Start receiving RTP for one leg; raises EngineUnavailable when no engine can be loaded."""
        await self.slots.acquire()
        leg = LiveLeg(self, call_id, speaker, codec, self.batch_ms)
        try:
            await leg.start()
        except BaseException:
            self.slots.release()
            raise
        self.legs.add(leg)
        return leg

    async def publish(self, event: SegmentEvent) -> None:
        try:
            outcome: Any = self.on_segment(event)
            if inspect.isawaitable(outcome):
                await outcome
            if event.is_final and self.service.repository is not None:
                await self.service.repository.add_segment(event, self.service.clock())
        except Exception:  # a failing listener must not stop transcription of the call
            log.exception("segment listener failed for call %s", event.call_id)

    async def close(self) -> None:
        for leg in list(self.legs):
            await leg.close()
