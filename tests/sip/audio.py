"""Small audio checks on recorded WAV files (pure Python: a Goertzel filter and RMS)."""

from __future__ import annotations

import array
import math
import wave
from pathlib import Path


def samples(path: Path) -> tuple[array.array, int]:
    with wave.open(str(path), "rb") as wav:
        assert wav.getsampwidth() == 2, "16-bit PCM expected"
        data = array.array("h", wav.readframes(wav.getnframes()))
        return data, wav.getframerate()


def tone_ratio(data: array.array, rate: int, freq: float) -> float:
    """Share of the signal's energy at `freq` (0..1); a pure tone gives about 1, speech far less."""
    if not data:
        return 0.0
    k = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in data:
        s1, s2 = x + k * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - k * s1 * s2
    total = sum(x * x for x in data) * len(data) / 2
    return power / total if total else 0.0


def rms(data: array.array) -> float:
    return math.sqrt(sum(x * x for x in data) / len(data)) if data else 0.0


def windows(data: array.array, rate: int, seconds: float = 0.5) -> list[array.array]:
    step = int(rate * seconds)
    return [data[i:i + step] for i in range(0, len(data) - step + 1, step)]
