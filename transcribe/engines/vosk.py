"""Vosk (Kaldi) behind the SpeechEngine port: true streaming with partial and final results.

Any Vosk model folder works unchanged, e.g. the site's vosk-model-cn-0.22 or the Korean test model.
Live streams are gated by the energy endpointer (transcribe.endpoint): Kaldi's search is most of Vosk's cost
and it runs as hard on silence as on speech, so a leg is fed only its utterances, and each utterance is
finalised `endpoint_silence_ms` after its last loud frame. Whole files are decoded ungated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from transcribe.audio import read_wav
from transcribe.endpoint import Endpointer, UtteranceEnd, Voice
from transcribe.models import verify_vosk_model
from transcribe.ports import EngineUnavailable, Final, Partial, Segment, Transcript

CHUNK_SECONDS = 0.2


class VoskEngine:
    """A loaded Vosk model; each stream gets its own recogniser (recognisers are not shared across threads)."""

    name = "vosk"

    def __init__(self, model_dir: Path, *, language: str = "zh", endpoint_silence_ms: int = 500,
                 speech_rms: float = 300.0) -> None:
        verify_vosk_model(model_dir)
        try:
            import vosk
        except ImportError as exc:
            raise EngineUnavailable("未安装 vosk：请运行 `pip install 'hotline12319[speech]'`") from exc
        vosk.SetLogLevel(-1)
        self._vosk = vosk
        self.language = language
        self.endpoint_silence_ms, self.speech_rms = endpoint_silence_ms, speech_rms
        self.model = vosk.Model(str(model_dir))

    def open_stream(self, sample_rate: int) -> VoskStream:
        """A live stream, gated by the endpointer."""
        endpointer = Endpointer(sample_rate, silence_ms=self.endpoint_silence_ms, speech_rms=self.speech_rms)
        return VoskStream(self._recognizer(sample_rate), sample_rate, endpointer)

    def _recognizer(self, sample_rate: int, grammar: list[str] | None = None) -> Any:
        """`grammar` restricts recognition to a closed set of phrases (Vosk grammar mode)."""
        if grammar is None:
            recognizer = self._vosk.KaldiRecognizer(self.model, sample_rate)
        else:
            recognizer = self._vosk.KaldiRecognizer(self.model, sample_rate, json.dumps(grammar, ensure_ascii=False))
        recognizer.SetWords(True)
        return recognizer

    def transcribe(self, path: str, *, prompt: str | None = None) -> Transcript:
        audio = read_wav(path)
        stream = VoskStream(self._recognizer(audio.sample_rate), audio.sample_rate)
        step = int(audio.sample_rate * CHUNK_SECONDS) * 2
        segments: list[Segment] = []
        for offset in range(0, len(audio.pcm16), step):
            result = stream.accept(audio.pcm16[offset:offset + step])
            if isinstance(result, Final):
                segments.extend(result.segments)
        segments.extend(stream.finish().segments)
        return Transcript(" ".join(s.text for s in segments), tuple(segments), audio.duration, self.name,
                          self.language)


    def answer(self, path: str, options: list[str]) -> str:
        """Text of a short answer, decoded in grammar mode restricted to `options` (or [unk])."""
        audio = read_wav(path)
        stream = VoskStream(self._recognizer(audio.sample_rate, grammar=[*options, "[unk]"]), audio.sample_rate)
        texts = [r.text for r in (stream.accept(audio.pcm16), stream.finish()) if isinstance(r, Final)]
        return " ".join(t for t in texts if t and t != "[unk]")


class VoskStream:
    """One recogniser. With an endpointer only utterances are fed, and segment times stay in stream time
    although the recogniser never hears the silences between them."""

    def __init__(self, recognizer: Any, sample_rate: int, endpointer: Endpointer | None = None) -> None:
        self.recognizer, self.sample_rate = recognizer, sample_rate
        self.endpointer = endpointer
        self.last_partial = ""
        self.fed = 0.0  # seconds of audio given to the recogniser (its clock)
        self.shift = 0.0  # stream time minus recogniser time, for the utterance in progress

    def accept(self, pcm16: bytes) -> Partial | Final | None:
        if self.endpointer is None:
            return self._feed(pcm16)
        return self._handle(self.endpointer.push(pcm16))

    def finish(self) -> Final:
        if self.endpointer is not None:
            result = self._handle(self.endpointer.flush())
            return result if isinstance(result, Final) else Final("")
        return self._finalise()

    def _handle(self, events: list[Voice | UtteranceEnd]) -> Partial | Final | None:
        """A Final of the utterances ended here takes precedence over a Partial of one still going."""
        final: Final | None = None
        partial: Partial | None = None
        for event in events:
            if isinstance(event, Voice):
                if event.first:
                    self.shift = event.start - self.fed
                result = self._feed(event.pcm16)
            else:
                result = self._finalise()
            if isinstance(result, Final) and result.text:
                final = result if final is None else Final(final.text + " " + result.text,
                                                           final.segments + result.segments)
            elif isinstance(result, Partial):
                partial = result
        return final or partial

    def _feed(self, pcm16: bytes) -> Partial | Final | None:
        self.fed += len(pcm16) / 2 / self.sample_rate
        if self.recognizer.AcceptWaveform(pcm16):
            self.last_partial = ""
            final = _final(self.recognizer.Result(), self.shift)
            return final if final.text else None
        partial = json.loads(self.recognizer.PartialResult()).get("partial", "")
        if partial and partial != self.last_partial:
            self.last_partial = partial
            return Partial(partial)
        return None

    def _finalise(self) -> Final:
        self.last_partial = ""
        return _final(self.recognizer.FinalResult(), self.shift)


def _final(raw: str, shift: float = 0.0) -> Final:
    data = json.loads(raw)
    text = data.get("text", "").strip()
    words = data.get("result") or []
    if not text:
        return Final("")
    if not words:
        return Final(text, (Segment(0.0, 0.0, text),))
    confidence = sum(w.get("conf", 1.0) for w in words) / len(words)
    segment = Segment(round(words[0]["start"] + shift, 2), round(words[-1]["end"] + shift, 2), text,
                      round(confidence, 3))
    return Final(text, (segment,))
