"""The speech runtime: one engine, a bounded worker pool, and the use cases built on them.

CPU-bound recognition never runs on the event loop: it goes to a thread pool of `settings.workers` threads
(CTranslate2 and Kaldi release the GIL while decoding). When no engine can be loaded, every use case raises
EngineUnavailable with the reason, and the rest of the system keeps working without transcription.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from transcribe.engines import build_engine
from transcribe.lexicon import load_lexicon, load_road_names
from transcribe.normalize import normalize
from transcribe.ports import EngineUnavailable, SpeechEngine, Transcript
from transcribe.repository import NewTranscript, SqlTranscriptRepository
from transcribe.segments import SegmentEvent
from transcribe.settings import SpeechSettings
from transcribe.suggest import PlaceLocator, Understander, Understanding, result_json
from transcribe.understand import match_choice

T = TypeVar("T")


def default_understander(settings: SpeechSettings, locator: PlaceLocator | None = None) -> Understander:
    """Lexicon from the category data and synonyms, roads from the gazetteer file named in the settings."""
    synonyms = settings.resolve(settings.synonyms_file) if settings.synonyms_file else None
    lexicon = load_lexicon(settings.resolve(settings.categories_file), synonyms)
    roads_file = settings.resolve(settings.roads_file)
    roads = load_road_names(roads_file) if roads_file.is_file() else []
    return Understander(lexicon, roads, locator)


class SpeechService:
    def __init__(self, settings: SpeechSettings, *, understander: Understander | None = None,
                 repository: SqlTranscriptRepository | None = None, engine: SpeechEngine | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.settings = settings
        self.understander = understander
        self.repository = repository
        self.clock = clock
        self._engine = engine
        self._engine_error: str | None = None
        self._lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="speech")

    def engine(self) -> SpeechEngine:
        """The loaded engine (loaded once, on first use); EngineUnavailable says what to install."""
        with self._lock:
            if self._engine is None and self._engine_error is None:
                try:
                    self._engine = build_engine(self.settings)
                except EngineUnavailable as exc:
                    self._engine_error = str(exc)
            if self._engine is None:
                raise EngineUnavailable(self._engine_error or "语音识别不可用")
            return self._engine

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def load(self) -> SpeechEngine:
        return await self.run(self.engine)

    async def transcribe(self, path: str, prompt: str | None = None) -> Transcript:
        engine = await self.load()
        return await self.run(lambda: engine.transcribe(path, prompt=prompt))

    async def understand(self, transcript: Transcript) -> Understanding | None:
        if self.understander is None:
            return None
        return await self.understander.understand(transcript.text)

    async def transcribe_file(self, path: str) -> dict[str, Any]:
        """Transcribe a WAV file and suggest class and place: the JSON of the CLI and the API."""
        transcript = await self.transcribe(path)
        return result_json(transcript, await self.understand(transcript))

    async def recognise_choice(self, path: str, options: Sequence[str]) -> tuple[str, float] | None:
        """Which of a closed set of answers the caller said (是的/不是, 满意/不满意, 转人工), or None.

        The engine decodes with the options as context (Whisper's prompt, Vosk's grammar); the answer is then
        matched by sound to the set, so near misses still count and other speech matches nothing.
        """
        engine = await self.load()
        text = await self.run(engine.answer, path, list(options))
        return match_choice(text, options)

    async def transcribe_recording(self, path: str, call_id: str | None) -> int:
        """Background job: transcribe a whole call recording and store it (failures are stored too)."""
        transcript_id, _ = await self.transcribe_and_store(path, call_id)
        return transcript_id

    async def transcribe_and_store(self, path: str, call_id: str | None,
                                   source: str = "recording") -> tuple[int, dict[str, Any] | None]:
        """Transcribe a recording, store text, segments and suggestions under `source` (recording,
        description); return the stored id and the JSON of `transcribe_file` (None when it failed)."""
        if self.repository is None:
            raise RuntimeError("transcribe_and_store needs a repository")
        try:
            transcript = await self.transcribe(path)
        except (EngineUnavailable, OSError, ValueError) as exc:
            failed = NewTranscript(source, self.settings.engine, "failed", call_id, path, error=str(exc))
            return await self.repository.add(failed, [], self.clock()), None
        understanding = await self.understand(transcript)
        stored = _new_transcript(transcript, understanding, call_id, path, source)
        transcript_id = await self.repository.add(stored, _segments(transcript, call_id), self.clock())
        return transcript_id, result_json(transcript, understanding)

    async def assemble_live(self, call_id: str) -> tuple[int, dict[str, Any]] | None:
        """After the call: its live segments as one stored transcript (source live, searchable), with
        suggestions from what the caller said; None when nothing was heard."""
        if self.repository is None:
            return None
        segments = await self.repository.live_segments(call_id)
        if not segments:
            return None
        text = conversation_text(segments)
        said = "".join(s.text for s in segments if s.speaker == "caller")
        found = await self.understander.understand(said) if self.understander and said else None
        top = found.classes[0] if found and found.classes else None
        place = found.place if found else None
        duration = max(s.end for s in segments) - min(s.start for s in segments)
        stored = NewTranscript(
            "live", self.settings.engine, "done", call_id, None, "\n".join(s.text for s in segments), text,
            round(duration, 2), top.code if top else None, top.name if top else None,
            place.address if place else None, place.cell_code if place else None,
            found.summary[:200] if found else "")
        transcript_id = await self.repository.add(stored, [], self.clock())
        await self.repository.attach_live_segments(call_id, transcript_id)
        return transcript_id, {"text": text, "summary": stored.summary,
                               "suggested_class_code": stored.suggested_class_code,
                               "suggested_address": stored.suggested_address}

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def _new_transcript(transcript: Transcript, found: Understanding | None, call_id: str | None,
                    path: str, source: str = "recording") -> NewTranscript:
    top = found.classes[0] if found and found.classes else None
    place = found.place if found else None
    return NewTranscript(
        source, transcript.engine, "done", call_id, path, transcript.text,
        found.text if found else transcript.text, transcript.duration,
        top.code if top else None, top.name if top else None,
        place.address if place else None, place.cell_code if place else None,
        found.summary[:200] if found else "",
    )


def _segments(transcript: Transcript, call_id: str | None) -> list[SegmentEvent]:
    return [SegmentEvent(call_id or "", "unknown", i, s.start, s.end, s.text, True, s.confidence)
            for i, s in enumerate(transcript.segments)]


SPEAKER_LABELS = {"caller": "市民", "agent": "坐席"}


def conversation_text(segments: Sequence[SegmentEvent]) -> str:
    """One line per final segment, labelled by speaker (市民/坐席), text normalised."""
    return "\n".join(f"{SPEAKER_LABELS.get(s.speaker, '未知')}：{normalize(s.text)}" for s in segments)
