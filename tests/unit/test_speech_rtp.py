"""RTP parsing, reordering, G.711/slin16 decoding, and the receiver and live pipeline over real loopback UDP."""

from __future__ import annotations

import asyncio
import socket
import struct
import time

import numpy as np
import pytest

from transcribe.audio import ALAW_TABLE, pcm16_to_ulaw, ulaw_to_pcm16
from transcribe.live import LiveTranscription
from transcribe.ports import Final, Partial, Segment, Transcript
from transcribe.rtp import ReorderBuffer, RtpPacket, RtpReceiver, build_rtp, decode_payload, parse_rtp
from transcribe.segments import SegmentEvent
from transcribe.service import SpeechService
from transcribe.settings import SpeechSettings


def _packet(seq: int) -> RtpPacket:
    return RtpPacket(0, seq & 0xFFFF, seq * 160, 1, False, bytes([seq & 0xFF]))


def test_rtp_round_trip() -> None:
    packet = parse_rtp(build_rtp(b"\x01\x02", 65535, 4000, ssrc=7, payload_type=8, marker=True))
    assert (packet.sequence, packet.timestamp, packet.ssrc, packet.payload_type, packet.marker) == (
        65535, 4000, 7, 8, True)
    assert packet.payload == b"\x01\x02"


def test_csrc_extension_and_padding_are_skipped() -> None:
    header = struct.pack("!BBHII", 0x80 | 0x20 | 0x10 | 1, 0, 5, 0, 9)
    data = header + b"CSRC" + struct.pack("!HH", 0xBEDE, 1) + b"EXT!" + b"AUDIO" + b"\0\0\x03"
    assert parse_rtp(data).payload == b"AUDIO"


@pytest.mark.parametrize("data", [b"", b"\x80\x00", b"\x40" + bytes(11)])
def test_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        parse_rtp(data)


def test_reorder_buffer_restores_order_across_wraparound() -> None:
    buffer = ReorderBuffer(window=3)
    order = [65533, 65535, 65534, 1, 0, 2, 3, 4]
    released = [p.sequence for s in order for p in buffer.push(_packet(s))]
    released += [p.sequence for p in buffer.flush()]
    assert released == [65533, 65534, 65535, 0, 1, 2, 3, 4]


def test_duplicates_and_late_packets_are_dropped() -> None:
    buffer = ReorderBuffer(window=1)
    out = [p.sequence for s in (10, 11, 12, 11, 9, 13, 13) for p in buffer.push(_packet(s))]
    out += [p.sequence for p in buffer.flush()]
    assert out == [10, 11, 12, 13]
    assert buffer.dropped == 3


def test_g711_and_slin16_payloads_decode_to_little_endian_pcm() -> None:
    tone = (np.sin(np.arange(160) / 3) * 10000).astype("<i2")
    ulaw = decode_payload(RtpPacket(0, 0, 0, 0, False, pcm16_to_ulaw(tone.tobytes())), "ulaw")
    assert np.abs(np.frombuffer(ulaw, "<i2").astype(int) - tone).max() < 700
    alaw = decode_payload(RtpPacket(8, 0, 0, 0, False, bytes([0xD5, 0x55])), "ulaw")  # PT 8 wins
    assert np.frombuffer(alaw, "<i2").tolist() == [ALAW_TABLE[0xD5], ALAW_TABLE[0x55]] == [8, -8]
    slin = decode_payload(RtpPacket(118, 0, 0, 0, False, tone.astype(">i2").tobytes()), "slin16")
    assert np.frombuffer(slin, "<i2").tolist() == tone.tolist()
    assert ulaw_to_pcm16(b"\xff\x7f") == b"\0\0\0\0"


def _send(port: int, packets: list[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for data in packets:
            sock.sendto(data, ("127.0.0.1", port))


def _ulaw_packets(pcm: bytes, order: list[int] | None = None) -> list[bytes]:
    frames = [pcm[i:i + 320] for i in range(0, len(pcm), 320)]
    packets = [build_rtp(pcm16_to_ulaw(f), 1000 + i, 160 * i) for i, f in enumerate(frames)]
    return [packets[i] for i in (order or range(len(packets)))]


async def _until(predicate, timeout: float = 2.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


async def test_receiver_delivers_jittered_packets_in_order() -> None:
    received: list[bytes] = []
    receiver = RtpReceiver("ulaw", received.append, reorder_window=3)
    host, port = await receiver.start()
    assert host == "127.0.0.1" and port > 0
    pcm = (np.arange(1600) % 64 * 256).astype("<i2").tobytes()  # 10 frames of 20 ms
    _send(port, _ulaw_packets(pcm, [0, 2, 1, 3, 5, 4, 6, 7, 9, 8]))
    _send(port, [b"not rtp"])
    await _until(lambda: receiver.packets == 10 and receiver.invalid == 1)
    receiver.close()
    expected = ulaw_to_pcm16(pcm16_to_ulaw(pcm))
    assert b"".join(received) == expected


class FakeStream:
    """Partial for each chunk, final on finish; sleeps like a real engine to prove the loop is not blocked."""

    def __init__(self) -> None:
        self.bytes = 0

    def accept(self, pcm16: bytes) -> Partial | Final | None:
        time.sleep(0.05)
        self.bytes += len(pcm16)
        return Partial(f"收到{self.bytes}字节")

    def finish(self) -> Final:
        return Final(f"共{self.bytes}字节", (Segment(0.0, self.bytes / 16000, f"共{self.bytes}字节"),))


class FakeEngine:
    name = "fake"

    def __init__(self) -> None:
        self.rates: list[int] = []

    def open_stream(self, sample_rate: int) -> FakeStream:
        self.rates.append(sample_rate)
        return FakeStream()

    def transcribe(self, path: str, *, prompt: str | None = None) -> Transcript:
        raise NotImplementedError

    def answer(self, path: str, options: list[str]) -> str:
        raise NotImplementedError


async def test_live_leg_emits_partials_then_a_final_without_blocking_the_loop() -> None:
    engine = FakeEngine()
    service = SpeechService(SpeechSettings(workers=1), engine=engine)
    events: list[SegmentEvent] = []
    live = LiveTranscription(service, events.append, batch_ms=100)
    leg = await live.open_leg("call-1", "caller", codec="ulaw")
    lag = 0.0

    async def ticker() -> None:
        nonlocal lag
        for _ in range(40):
            before = time.monotonic()
            await asyncio.sleep(0.005)
            lag = max(lag, time.monotonic() - before - 0.005)

    pcm = np.zeros(8000, dtype="<i2").tobytes()  # 0.5 s
    tick = asyncio.create_task(ticker())
    _send(leg.port, _ulaw_packets(pcm))
    await _until(lambda: leg.receiver.packets == 25)
    await leg.close()
    await tick
    service.close()
    assert engine.rates == [8000]
    assert [e.is_final for e in events][-1] is True and not any(e.is_final for e in events[:-1])
    assert len(events) >= 3
    assert {(e.call_id, e.speaker) for e in events} == {("call-1", "caller")}
    assert events[-1].text == "共16000字节"
    assert lag < 0.04  # the 50 ms engine calls ran in the worker pool
    assert live.legs == set()


async def test_a_cancelled_closer_does_not_lose_the_last_final() -> None:
    """At shutdown the job closing a leg may be cancelled mid-flush: the flush goes on, and closing all legs
    afterwards waits for it instead of failing, and gives the leg's slot back once."""
    engine = FakeEngine()
    service = SpeechService(SpeechSettings(workers=1, max_streams=1), engine=engine)
    events: list[SegmentEvent] = []
    live = LiveTranscription(service, events.append, batch_ms=100)
    leg = await live.open_leg("call-1", "caller", codec="ulaw")
    _send(leg.port, _ulaw_packets(np.zeros(8000, dtype="<i2").tobytes()))
    await _until(lambda: leg.receiver.packets == 25)
    closer = asyncio.create_task(leg.close())
    await asyncio.sleep(0.02)  # the flush is under way in the worker pool
    closer.cancel()
    await asyncio.gather(closer, return_exceptions=True)
    await live.close()
    await leg.close()  # again: nothing more to do
    service.close()
    assert events[-1].is_final and events[-1].text == "共16000字节"
    assert live.legs == set()
    assert live.slots._value == 1  # released exactly once
