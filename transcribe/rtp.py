"""Receiving call audio as RTP on loopback (Asterisk externalMedia sends it here).

`parse_rtp` and `ReorderBuffer` are pure; `RtpReceiver` is the asyncio UDP endpoint. Payloads: G.711 µ-law
(PT 0), A-law (PT 8) and slin16 (16 kHz signed linear, big-endian as RTP L16 and Asterisk send it, on a
dynamic payload type). Packets are put back in sequence order within a small window (jitter on loopback is
rare, but Asterisk may send bursts), duplicates and packets older than what was already released are dropped.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from transcribe.audio import alaw_to_pcm16, ulaw_to_pcm16

Codec = Literal["ulaw", "alaw", "slin16"]
SAMPLE_RATES: dict[str, int] = {"ulaw": 8000, "alaw": 8000, "slin16": 16000}
STATIC_TYPES: dict[int, Codec] = {0: "ulaw", 8: "alaw"}
HEADER = struct.Struct("!BBHII")


class RtpError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    marker: bool
    payload: bytes


def parse_rtp(data: bytes) -> RtpPacket:
    """Parse an RTP packet (RFC 3550): CSRC list, header extension and padding are skipped."""
    if len(data) < HEADER.size:
        raise RtpError("packet shorter than an RTP header")
    first, second, sequence, timestamp, ssrc = HEADER.unpack_from(data)
    if first >> 6 != 2:
        raise RtpError("not RTP version 2")
    offset = HEADER.size + 4 * (first & 0x0F)
    if first & 0x10:  # header extension: 16-bit profile, 16-bit length in 32-bit words
        if len(data) < offset + 4:
            raise RtpError("truncated header extension")
        offset += 4 + 4 * struct.unpack_from("!H", data, offset + 2)[0]
    end = len(data) - (data[-1] if first & 0x20 and data else 0)
    if offset > end:
        raise RtpError("truncated packet")
    return RtpPacket(second & 0x7F, sequence, timestamp, ssrc, bool(second & 0x80), data[offset:end])


def build_rtp(payload: bytes, sequence: int, timestamp: int, ssrc: int = 0x1234, payload_type: int = 0,
              marker: bool = False) -> bytes:
    """An RTP packet without CSRCs or extension (tests and the benchmark send these)."""
    second = (0x80 if marker else 0) | payload_type
    return HEADER.pack(0x80, second, sequence & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc) + payload


def decode_payload(packet: RtpPacket, codec: Codec) -> bytes:
    """Little-endian 16-bit PCM from a payload; static payload types override the configured codec."""
    actual = STATIC_TYPES.get(packet.payload_type, codec)
    if actual == "ulaw":
        return ulaw_to_pcm16(packet.payload)
    if actual == "alaw":
        return alaw_to_pcm16(packet.payload)
    return np.frombuffer(packet.payload[: len(packet.payload) // 2 * 2], dtype=">i2").astype("<i2").tobytes()


def _newer(a: int, b: int) -> bool:
    """True when 16-bit sequence number a comes after b (RFC 3550 wrap-around arithmetic)."""
    return 0 < (a - b) & 0xFFFF < 0x8000


class ReorderBuffer:
    """Holds up to `window` packets to restore sequence order; releases the oldest when the window is full."""

    def __init__(self, window: int = 4) -> None:
        self.window = window
        self.held: dict[int, RtpPacket] = {}
        self.last: int | None = None  # sequence number of the last packet released
        self.dropped = 0

    def push(self, packet: RtpPacket) -> list[RtpPacket]:
        seq = packet.sequence
        if seq in self.held or (self.last is not None and not _newer(seq, self.last)):
            self.dropped += 1  # duplicate, or too late: its place in the audio has passed
            return []
        self.held[seq] = packet
        released = []
        while self.held:
            nxt = self._oldest()
            if (self.last is not None and nxt == (self.last + 1) & 0xFFFF) or len(self.held) > self.window:
                released.append(self._release(nxt))
            else:
                break
        return released

    def flush(self) -> list[RtpPacket]:
        return [self._release(self._oldest()) for _ in range(len(self.held))]

    def _oldest(self) -> int:
        keys = list(self.held)
        oldest = keys[0]
        for key in keys[1:]:
            if _newer(oldest, key):
                oldest = key
        return oldest

    def _release(self, seq: int) -> RtpPacket:
        self.last = seq
        return self.held.pop(seq)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, on_packet: Callable[[bytes, tuple[str, int]], None]) -> None:
        self.on_packet = on_packet

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.on_packet(data, addr)


class RtpReceiver:
    """A UDP endpoint on 127.0.0.1 that turns one RTP stream into ordered PCM chunks on `on_audio`.

    The first source to send is locked in (another SSRC or address is ignored), as Asterisk sends one
    stream per externalMedia channel. `on_audio` is called on the event loop and must not block.
    """

    def __init__(self, codec: Codec, on_audio: Callable[[bytes], None], *, host: str = "127.0.0.1",
                 port: int = 0, reorder_window: int = 4) -> None:
        self.codec, self.on_audio = codec, on_audio
        self.host, self.port = host, port
        self.buffer = ReorderBuffer(reorder_window)
        self.transport: asyncio.DatagramTransport | None = None
        self.source: tuple[tuple[str, int], int] | None = None
        self.packets = 0
        self.invalid = 0

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATES[self.codec]

    async def start(self) -> tuple[str, int]:
        """Bind and return (host, port): give Asterisk `external_host=host:port`."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self._received),
                                                           local_addr=(self.host, self.port))
        self.transport = transport
        self.port = transport.get_extra_info("sockname")[1]
        return self.host, self.port

    def _received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            packet = parse_rtp(data)
        except RtpError:
            self.invalid += 1
            return
        if self.source is None:
            self.source = (addr, packet.ssrc)
        elif self.source != (addr, packet.ssrc):
            return
        self.packets += 1
        for ready in self.buffer.push(packet):
            self.on_audio(decode_payload(ready, self.codec))

    def close(self) -> None:
        """Stop receiving; packets still held for reordering are delivered first."""
        for ready in self.buffer.flush():
            self.on_audio(decode_payload(ready, self.codec))
        if self.transport is not None:
            self.transport.close()
            self.transport = None
