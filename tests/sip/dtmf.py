"""RFC 4733 digit pcaps with increasing RTP timestamps, for SIPp's play_pcap_audio.

SIPp replays a pcap's RTP as recorded; the sample pcaps each carry one fixed timestamp, and Asterisk
ignores a digit whose timestamp is older than the last one it saw. So each key press gets a copy of the
sample with its timestamp and sequence numbers moved forward.
"""

from __future__ import annotations

import struct
from pathlib import Path

SAMPLES = Path("/usr/share/sip-tester")
NAMES = {"#": "pound", "*": "star"}


def digit_pcap(folder: Path, key: str, index: int) -> Path:
    """A pcap of `key` as the `index`-th key of a call (index 0, 1, ...), written into `folder`."""
    name = NAMES.get(key, key)
    data = (SAMPLES / f"dtmf_2833_{name}.pcap").read_bytes()
    out = bytearray(data[:24])
    offset = 24
    while offset < len(data):
        incl = struct.unpack("<I", data[offset + 8:offset + 12])[0]
        packet = bytearray(data[offset + 16:offset + 16 + incl])
        ihl = (packet[14] & 0x0F) * 4
        rtp = 14 + ihl + 8
        seq, _ = struct.unpack(">HI", packet[rtp + 2:rtp + 8])
        struct.pack_into(">HI", packet, rtp + 2, (30000 + index * 32 + seq % 32) & 0xFFFF,
                         1_000_000 + index * 16_000)
        struct.pack_into(">H", packet, 14 + ihl + 6, 0)  # UDP checksum: none (allowed on IPv4)
        out += data[offset:offset + 16] + packet
        offset += 16 + incl
    target = folder / f"dtmf-{index:02d}-{name}.pcap"
    target.write_bytes(bytes(out))
    return target
