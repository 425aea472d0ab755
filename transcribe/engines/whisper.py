"""Whisper (faster-whisper / CTranslate2) behind the SpeechEngine port.

Whisper is not a streaming model: a stream buffers audio, finds the end of each utterance by energy
(`endpoint_silence_ms` of quiet after speech) and decodes that utterance whole. Whisper always encodes a 30 s
window, so decoding per utterance costs about the same as per second of speech would cost many times over.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from transcribe.audio import frame_rms, wav_bytes
from transcribe.models import verify_whisper_base
from transcribe.ports import EngineUnavailable, Final, Partial, Segment, Transcript

FRAME_MS = 20
PRE_ROLL_MS = 300
MAX_UTTERANCE_S = 25.0


@dataclass(frozen=True, slots=True)
class WhisperOptions:
    language: str = "zh"
    initial_prompt: str | None = "以下是普通话的句子。"
    beam_size: int = 5
    vad: bool = True
    endpoint_silence_ms: int = 500
    speech_rms: float = 300.0  # 16-bit units; telephone speech is well above, line noise below


class WhisperEngine:
    """Whisper from a local CTranslate2 model folder (e.g. var/models/whisper-base)."""

    name = "whisper"

    def __init__(self, model_dir: Path, options: WhisperOptions, *, cpu_threads: int = 2, workers: int = 1,
                 compute_type: str = "int8") -> None:
        verify_whisper_base(model_dir)
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise EngineUnavailable("未安装 faster-whisper：请运行 `pip install 'hotline12319[speech]'`") from exc
        self.options = options
        self.model = WhisperModel(str(model_dir), device="cpu", compute_type=compute_type,
                                  cpu_threads=cpu_threads, num_workers=workers, local_files_only=True)

    def decode(self, audio: np.ndarray | str | BinaryIO, prompt: str | None = None,
               without_timestamps: bool = False) -> tuple[list[Segment], float]:
        """Decode 16 kHz float samples or a file; returns segments and the audio duration in seconds."""
        opts = self.options
        segments, info = self.model.transcribe(
            audio, language=opts.language, beam_size=opts.beam_size, vad_filter=opts.vad,
            condition_on_previous_text=False, initial_prompt=prompt or opts.initial_prompt,
            without_timestamps=without_timestamps,
        )
        found = [Segment(round(s.start, 2), round(s.end, 2), s.text.strip(), _confidence(s)) for s in segments]
        return [s for s in found if s.text], float(info.duration)

    def transcribe(self, path: str, *, prompt: str | None = None) -> Transcript:
        segments, duration = self.decode(str(path), prompt)
        return Transcript("".join(s.text for s in segments), tuple(segments), duration, self.name,
                          self.options.language)

    def answer(self, path: str, options: list[str]) -> str:
        """Text of a short answer expected from a closed set of phrases.

        The options go into the prompt ("请回答：是的、不是…"): with the generic prompt Whisper hallucinates on
        sub-second clips. Timestamps are off because with them it goes on to recite the other options.
        """
        prompt = "请回答：" + "、".join(options) + "。"
        segments, _ = self.decode(str(path), prompt, without_timestamps=True)
        return "".join(s.text for s in segments)

    def open_stream(self, sample_rate: int) -> WhisperStream:
        if sample_rate not in (8000, 16000):
            raise ValueError("sample_rate must be 8000 or 16000")
        return WhisperStream(self, sample_rate)


def _confidence(segment: Any) -> float:
    return round(float(np.exp(min(0.0, segment.avg_logprob))), 3)


class WhisperStream:
    """Energy endpointing over 20 ms frames; each utterance is decoded once, when it ends."""

    def __init__(self, engine: WhisperEngine, sample_rate: int) -> None:
        self.engine = engine
        self.rate = sample_rate
        self.frame_bytes = sample_rate * FRAME_MS // 1000 * 2
        self.pending = b""  # bytes not yet framed
        self.utterance = bytearray()
        self.pre_roll: list[bytes] = []
        self.position = 0.0  # seconds of audio consumed
        self.start = 0.0
        self.silence_ms = 0
        self.in_speech = False

    def accept(self, pcm16: bytes) -> Partial | Final | None:
        data = self.pending + pcm16
        cut = len(data) - len(data) % self.frame_bytes
        self.pending = data[cut:]
        result: Final | None = None
        for offset in range(0, cut, self.frame_bytes):
            final = self._frame(data[offset:offset + self.frame_bytes])
            if final is not None:
                result = _merge(result, final)
        return result

    def _frame(self, frame: bytes) -> Final | None:
        self.position += FRAME_MS / 1000
        loud = frame_rms(frame) >= self.engine.options.speech_rms
        if not self.in_speech:
            self.pre_roll = [*self.pre_roll[-(PRE_ROLL_MS // FRAME_MS) + 1:], frame]
            if loud:
                self.in_speech, self.silence_ms = True, 0
                self.start = self.position - len(self.pre_roll) * FRAME_MS / 1000
                self.utterance = bytearray(b"".join(self.pre_roll))
            return None
        self.utterance += frame
        self.silence_ms = 0 if loud else self.silence_ms + FRAME_MS
        too_long = len(self.utterance) / 2 / self.rate >= MAX_UTTERANCE_S
        if self.silence_ms >= self.engine.options.endpoint_silence_ms or too_long:
            return self._decode_utterance()
        return None

    def _decode_utterance(self) -> Final:
        audio, start = bytes(self.utterance), self.start
        self.utterance, self.in_speech, self.pre_roll, self.silence_ms = bytearray(), False, [], 0
        # Through a WAV in memory so that the utterance is resampled by the same decoder (PyAV) as whole files:
        # a plain FIR upsampler measurably worsened Whisper's output on 8 kHz speech.
        segments, _ = self.engine.decode(wav_bytes(audio, self.rate))
        shifted = tuple(Segment(round(s.start + start, 2), round(s.end + start, 2), s.text, s.confidence)
                        for s in segments)
        return Final("".join(s.text for s in shifted), shifted)

    def finish(self) -> Final:
        if self.in_speech and self.utterance:
            return self._decode_utterance()
        return Final("")


def _merge(first: Final | None, second: Final) -> Final:
    if first is None:
        return second
    return Final(first.text + second.text, first.segments + second.segments)
