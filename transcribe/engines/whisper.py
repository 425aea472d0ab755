"""Whisper (faster-whisper / CTranslate2) behind the SpeechEngine port.

Whisper is not a streaming model: a live stream finds the end of each utterance by energy (transcribe.endpoint)
and decodes that utterance whole. Whisper was trained on 30 s windows and faster-whisper always encodes one,
so a 4 s utterance would cost the encoder as much as 30 s of speech. Live utterances are therefore encoded in a
window fitted to their length (`live_window="fitted"`: 3-4x less CPU, measured in bench/asr), with the
number of tokens bounded by the audio's length and runaway repetition cut; whole files (IVR descriptions, recordings)
keep faster-whisper's full pipeline with VAD and timestamps, which is the more accurate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np

from transcribe.audio import wav_bytes
from transcribe.endpoint import Endpointer, UtteranceEnd, Voice
from transcribe.models import verify_whisper_base
from transcribe.normalize import cut_runaway_repetition
from transcribe.ports import EngineUnavailable, Final, Segment, Transcript

MAX_UTTERANCE_S = 25.0
WINDOW_STEP = 100  # feature frames (1 s): fitted windows are rounded up to whole seconds
WINDOW_MARGIN = 100  # feature frames of silence after the utterance, so that its end is not at the edge
FULL_WINDOW = 3000  # Whisper's 30 s
NO_SPEECH_THRESHOLD = 0.6  # faster-whisper's defaults for dropping a decode as silence
LOG_PROB_THRESHOLD = -1.0
# Forced choice (natural log of the option's tokens together). Int8 kernels differ by instruction set
# (CT2_FORCE_CPU_ISA): measured on the caller clips under GENERIC, AVX, AVX2 and AVX512, a spoken answer scores
# -0.3 .. -3.6 and beats the next option by 2.2 .. 7.8; other speech scores -8.7 .. -11.7 for its best option.
# The decision rests on the margin over the next option; the floor only keeps other speech out and sits in the
# middle of that gap, so that neither moves by a kernel's rounding.
FORCED_MIN_LOGPROB = -6.0  # at least ~0.25 % likely: far below a spoken answer, far above other speech
FORCED_MARGIN = 1.0  # the best option at least e (~2.7) times as likely as the next
LiveWindow = Literal["fitted", "full"]


@dataclass(frozen=True, slots=True)
class WhisperOptions:
    language: str = "zh"
    initial_prompt: str | None = "以下是普通话的句子。"
    beam_size: int = 5
    vad: bool = True
    endpoint_silence_ms: int = 500
    speech_rms: float = 300.0  # 16-bit units; telephone speech is well above, line noise below
    live_window: LiveWindow = "fitted"
    live_beam_size: int = 1


class WhisperEngine:
    """Whisper from a local CTranslate2 model folder (e.g. var/models/whisper-base)."""

    name = "whisper"

    def __init__(self, model_dir: Path, options: WhisperOptions, *, cpu_threads: int = 2, workers: int = 1,
                 compute_type: str = "int8") -> None:
        verify_whisper_base(model_dir)
        try:
            from faster_whisper import WhisperModel
            from faster_whisper.tokenizer import Tokenizer
            from faster_whisper.transcribe import get_suppressed_tokens
        except ImportError as exc:
            raise EngineUnavailable("未安装 faster-whisper：请运行 `pip install 'hotline12319[speech]'`") from exc
        self.options = options
        self.model = WhisperModel(str(model_dir), device="cpu", compute_type=compute_type,
                                  cpu_threads=cpu_threads, num_workers=workers, local_files_only=True)
        self.tokenizer = Tokenizer(self.model.hf_tokenizer, self.model.model.is_multilingual, task="transcribe",
                                   language=options.language)
        self.live_prompt = self._prompt_tokens(options.initial_prompt)
        self.suppress_tokens = list(get_suppressed_tokens(self.tokenizer, [-1]))

    def _prompt_tokens(self, prompt: str | None) -> list[int]:
        """The decoder's start: the prompt as previous text (as faster-whisper puts it), then no timestamps."""
        context = [self.tokenizer.sot_prev, *self.tokenizer.encode(" " + prompt.strip())] if prompt else []
        return [*context, *self.tokenizer.sot_sequence, self.tokenizer.no_timestamps]

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

    def decode_utterance(self, pcm16: bytes, sample_rate: int) -> list[Segment]:
        """One live utterance (16-bit PCM) as segments timed from its start; [] when it was not speech."""
        # Through a WAV in memory so that the utterance is resampled by the same decoder (PyAV) as whole files:
        # a plain FIR upsampler measurably worsened Whisper's output on 8 kHz speech.
        if self.options.live_window == "full":
            return self.decode(wav_bytes(pcm16, sample_rate))[0]
        from faster_whisper import decode_audio

        features = self.model.feature_extractor(decode_audio(wav_bytes(pcm16, sample_rate)))
        length = min(features.shape[-1], FULL_WINDOW)
        frames = min(FULL_WINDOW, -(-(length + WINDOW_MARGIN) // WINDOW_STEP) * WINDOW_STEP)
        window = np.zeros((1, features.shape[0], frames), dtype=np.float32)
        window[0, :, :length] = features[:, :length]  # zero features, as faster-whisper pads its 30 s windows
        result = self.model.model.generate(
            self.model.encode(window), [self.live_prompt], beam_size=self.options.live_beam_size,
            max_length=len(self.live_prompt) + 16 + length // 8,  # ~12 tokens a second is more than anyone says
            suppress_blank=True, suppress_tokens=self.suppress_tokens, return_scores=True,
            return_no_speech_prob=True,
        )[0]
        score = result.scores[0] if result.scores else LOG_PROB_THRESHOLD - 1  # length-normalised log prob
        if result.no_speech_prob > NO_SPEECH_THRESHOLD and score < LOG_PROB_THRESHOLD:
            return []
        tokens = [t for t in result.sequences_ids[0] if t < self.tokenizer.eot]
        text = cut_runaway_repetition(self.tokenizer.decode(tokens).strip().rstrip("\ufffd"))
        if not text:
            return []
        return [Segment(0.0, round(length / 100, 2), text, round(float(np.exp(min(0.0, score))), 3))]

    def transcribe(self, path: str, *, prompt: str | None = None) -> Transcript:
        segments, duration = self.decode(str(path), prompt)
        return Transcript("".join(s.text for s in segments), tuple(segments), duration, self.name,
                          self.options.language)

    def answer(self, path: str, options: list[str]) -> str:
        """Text of a short answer expected from a closed set of phrases ("" when the clip holds no speech).

        The options go into the prompt ("请回答：是的、不是…"): with the generic prompt Whisper hallucinates on
        sub-second clips. Timestamps are off because with them it goes on to recite the other options. Whisper
        sometimes only echoes the prompt ("请回答：") instead of the answer; then each option is scored against
        the audio (forced alignment) and the clear winner, if any, is the answer.
        """
        from faster_whisper import decode_audio

        samples = decode_audio(path)  # once, for the speech check, the decode and the fallback
        if not _has_speech(samples, self.options.speech_rms):
            return ""
        prompt = "请回答：" + "、".join(options) + "。"
        segments, _ = self.decode(samples, prompt, without_timestamps=True)
        text = "".join(s.text for s in segments).replace(prompt, "").replace("请回答：", "").replace("请回答", "")
        if any(option in text for option in options):
            return text
        return self.forced_choice(samples, prompt, options) or text

    def forced_choice(self, audio: np.ndarray | str, prompt: str, options: list[str]) -> str | None:
        """The option whose tokens the audio (16 kHz samples or a file) makes clearly the most likely
        (`clear_winner`); None when none stands out."""
        from faster_whisper import decode_audio
        from faster_whisper.audio import pad_or_trim

        features = self.model.feature_extractor(decode_audio(audio) if isinstance(audio, str) else audio)
        encoded = self.model.encode(pad_or_trim(features))
        start = self._prompt_tokens(prompt)
        scores = {}
        for option in options:
            tokens = self.tokenizer.encode(option)
            result = self.model.model.align(encoded, start, [[*tokens, self.tokenizer.eot]], [features.shape[-1]])
            probabilities = result[0].text_token_probs[:len(tokens)]  # the end token is not the option's
            scores[option] = float(np.sum(np.log(np.maximum(probabilities, 1e-9))))
        return clear_winner(scores)

    def open_stream(self, sample_rate: int) -> WhisperStream:
        if sample_rate not in (8000, 16000):
            raise ValueError("sample_rate must be 8000 or 16000")
        return WhisperStream(self, sample_rate)


def clear_winner(scores: Mapping[str, float], floor: float = FORCED_MIN_LOGPROB,
                 margin: float = FORCED_MARGIN) -> str | None:
    """The option with the highest log probability if it beats every other by `margin` and reaches `floor`."""
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    if not ranked:
        return None
    (option, best), runner_up = ranked[0], ranked[1][1] if len(ranked) > 1 else -np.inf
    return option if best >= floor and best - runner_up >= margin else None


def _has_speech(samples: np.ndarray, speech_rms: float) -> bool:
    """Whether any 20 ms frame of 16 kHz float samples reaches the speech level (in 16-bit RMS units)."""
    frames = samples[: samples.size // 320 * 320].reshape(-1, 320)
    return bool((np.sqrt(np.mean(np.square(frames), axis=1)) * 32768 >= speech_rms).any())


def _confidence(segment: Any) -> float:
    return round(float(np.exp(min(0.0, segment.avg_logprob))), 3)


class WhisperStream:
    """Utterances found by the endpointer; each is decoded once, when it ends (no partial results)."""

    def __init__(self, engine: WhisperEngine, sample_rate: int) -> None:
        self.engine = engine
        self.rate = sample_rate
        options = engine.options
        self.endpointer = Endpointer(sample_rate, silence_ms=options.endpoint_silence_ms,
                                     speech_rms=options.speech_rms, max_utterance_s=MAX_UTTERANCE_S)
        self.utterance = bytearray()

    def accept(self, pcm16: bytes) -> Final | None:
        return self._handle(self.endpointer.push(pcm16))

    def finish(self) -> Final:
        return self._handle(self.endpointer.flush()) or Final("")

    def _handle(self, events: list[Voice | UtteranceEnd]) -> Final | None:
        result: Final | None = None
        for event in events:
            if isinstance(event, Voice):
                if event.first:
                    self.utterance = bytearray()
                self.utterance += event.pcm16
                continue
            audio, self.utterance = bytes(self.utterance), bytearray()
            shifted = tuple(Segment(round(s.start + event.start, 2), round(min(s.end + event.start, event.end), 2),
                                    s.text, s.confidence)
                            for s in self.engine.decode_utterance(audio, self.rate))
            final = Final("".join(s.text for s in shifted), shifted)
            result = final if result is None else Final(result.text + final.text, result.segments + final.segments)
        return result
