"""Vosk (Kaldi) behind the SpeechEngine port: true streaming with partial and final results.

Any Vosk model folder works unchanged, e.g. the site's vosk-model-cn-0.22 or the Korean test model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from transcribe.audio import read_wav
from transcribe.models import verify_vosk_model
from transcribe.ports import EngineUnavailable, Final, Partial, Segment, Transcript

CHUNK_SECONDS = 0.2


class VoskEngine:
    """A loaded Vosk model; each stream gets its own recogniser (recognisers are not shared across threads)."""

    name = "vosk"

    def __init__(self, model_dir: Path, *, language: str = "zh") -> None:
        verify_vosk_model(model_dir)
        try:
            import vosk
        except ImportError as exc:
            raise EngineUnavailable("未安装 vosk：请运行 `pip install 'hotline12319[speech]'`") from exc
        vosk.SetLogLevel(-1)
        self._vosk = vosk
        self.language = language
        self.model = vosk.Model(str(model_dir))

    def open_stream(self, sample_rate: int, grammar: list[str] | None = None) -> VoskStream:
        """A stream; `grammar` restricts recognition to a closed set of phrases (Vosk grammar mode)."""
        if grammar is None:
            recognizer = self._vosk.KaldiRecognizer(self.model, sample_rate)
        else:
            recognizer = self._vosk.KaldiRecognizer(self.model, sample_rate, json.dumps(grammar, ensure_ascii=False))
        recognizer.SetWords(True)
        return VoskStream(recognizer)

    def transcribe(self, path: str, *, prompt: str | None = None) -> Transcript:
        audio = read_wav(path)
        stream = self.open_stream(audio.sample_rate)
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
        stream = self.open_stream(audio.sample_rate, grammar=[*options, "[unk]"])
        texts = [r.text for r in (stream.accept(audio.pcm16), stream.finish()) if isinstance(r, Final)]
        return " ".join(t for t in texts if t and t != "[unk]")


class VoskStream:
    def __init__(self, recognizer: Any) -> None:
        self.recognizer = recognizer
        self.last_partial = ""

    def accept(self, pcm16: bytes) -> Partial | Final | None:
        if self.recognizer.AcceptWaveform(pcm16):
            self.last_partial = ""
            final = _final(self.recognizer.Result())
            return final if final.text else None
        partial = json.loads(self.recognizer.PartialResult()).get("partial", "")
        if partial and partial != self.last_partial:
            self.last_partial = partial
            return Partial(partial)
        return None

    def finish(self) -> Final:
        self.last_partial = ""
        return _final(self.recognizer.FinalResult())


def _final(raw: str) -> Final:
    data = json.loads(raw)
    text = data.get("text", "").strip()
    words = data.get("result") or []
    if not text:
        return Final("")
    if not words:
        return Final(text, (Segment(0.0, 0.0, text),))
    confidence = sum(w.get("conf", 1.0) for w in words) / len(words)
    segment = Segment(round(words[0]["start"], 2), round(words[-1]["end"], 2), text, round(confidence, 3))
    return Final(text, (segment,))
