"""Audio helpers without external tools: WAV reading, G.711 decoding, resampling to 16 kHz, frame energy.

G.711 is decoded with lookup tables built here (the stdlib `audioop` is deprecated and gone in 3.13).
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class AudioFormatError(ValueError):
    """The audio is not something we can read (the message is for people, in Chinese)."""


@dataclass(frozen=True, slots=True)
class PcmAudio:
    """Mono signed 16-bit PCM."""

    pcm16: bytes
    sample_rate: int

    @property
    def duration(self) -> float:
        return len(self.pcm16) / 2 / self.sample_rate


def read_wav(path: str | Path) -> PcmAudio:
    """Read a PCM WAV file (8–48 kHz, 16-bit, mono or stereo mixed down)."""
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError, RuntimeError) as exc:  # RuntimeError: truncated chunk (wave quirk)
        raise AudioFormatError(f"不是有效的 WAV 文件：{exc}") from exc
    if width != 2:
        raise AudioFormatError("只支持 16 位 PCM 编码的 WAV 文件")
    if not 8000 <= rate <= 48000:
        raise AudioFormatError(f"不支持的采样率 {rate} Hz（支持 8000–48000 Hz）")
    samples = np.frombuffer(frames, dtype="<i2")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype("<i2")
    return PcmAudio(samples.tobytes(), rate)


def _ulaw_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign, exponent, mantissa = codes & 0x80, (codes >> 4) & 0x07, codes & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -magnitude, magnitude).astype("<i2")


def _alaw_table() -> np.ndarray:
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    sign, exponent, mantissa = codes & 0x80, (codes >> 4) & 0x07, codes & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0)
    )
    return np.where(sign != 0, magnitude, -magnitude).astype("<i2")


ULAW_TABLE = _ulaw_table()
ALAW_TABLE = _alaw_table()


def ulaw_to_pcm16(payload: bytes) -> bytes:
    return ULAW_TABLE[np.frombuffer(payload, dtype=np.uint8)].tobytes()


def alaw_to_pcm16(payload: bytes) -> bytes:
    return ALAW_TABLE[np.frombuffer(payload, dtype=np.uint8)].tobytes()


def pcm16_to_ulaw(pcm16: bytes) -> bytes:
    """Encode (nearest code by table search); used by tests and the benchmark to build G.711 packets."""
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.int32)
    order = np.argsort(ULAW_TABLE)
    sorted_values = ULAW_TABLE[order].astype(np.int32)
    index = np.clip(np.searchsorted(sorted_values, samples), 1, 255)
    left, right = sorted_values[index - 1], sorted_values[index]
    index = np.where(samples - left <= right - samples, index - 1, index)
    return order[index].astype(np.uint8).tobytes()


# Half-band low-pass (windowed sinc, cut-off at a quarter of the output rate) for 2x upsampling.
_HALF_BAND = np.sinc(np.arange(-16, 17) / 2) * np.hamming(33)


def to_float16k(pcm16: bytes, sample_rate: int) -> np.ndarray:
    """Float32 samples in [-1, 1] at 16 kHz, as Whisper wants them."""
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float32) / 32768.0
    if sample_rate == 16000 or samples.size == 0:
        return samples
    if sample_rate == 8000:
        doubled = np.zeros(samples.size * 2, dtype=np.float32)
        doubled[::2] = samples
        return np.convolve(doubled, _HALF_BAND, mode="same").astype(np.float32)
    positions = np.arange(0, samples.size, sample_rate / 16000)
    return np.interp(positions, np.arange(samples.size), samples).astype(np.float32)


def wav_bytes(pcm16: bytes, sample_rate: int) -> io.BytesIO:
    """A mono 16-bit WAV file in memory."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm16)
    buffer.seek(0)
    return buffer


def frame_rms(pcm16: bytes) -> float:
    """Root mean square of a frame, in 16-bit sample units."""
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float32)
    return float(np.sqrt(np.mean(samples * samples))) if samples.size else 0.0
