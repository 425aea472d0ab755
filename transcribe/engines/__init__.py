"""Engine selection: build the configured engine, or explain why there is none."""

from __future__ import annotations

from transcribe.engines.whisper import WhisperOptions
from transcribe.ports import EngineUnavailable, SpeechEngine
from transcribe.settings import SpeechSettings


def build_engine(settings: SpeechSettings) -> SpeechEngine:
    """Load the engine named by `settings.engine`; raise EngineUnavailable with the fix in the message."""
    if settings.engine == "none":
        raise EngineUnavailable("语音识别已关闭（speech.engine: none）")
    if settings.engine == "vosk":
        from transcribe.engines.vosk import VoskEngine

        return VoskEngine(settings.resolve(settings.vosk_model_path), language=settings.language,
                          endpoint_silence_ms=settings.endpoint_silence_ms, speech_rms=settings.speech_rms)
    from transcribe.engines.whisper import WhisperEngine

    options = WhisperOptions(
        language=settings.language,
        initial_prompt=settings.initial_prompt or None,
        beam_size=settings.whisper_beam_size,
        vad=settings.vad,
        endpoint_silence_ms=settings.endpoint_silence_ms,
        speech_rms=settings.speech_rms,
        live_window=settings.whisper_live_window,
        live_beam_size=settings.whisper_live_beam_size,
    )
    return WhisperEngine(settings.whisper_dir(), options, cpu_threads=settings.whisper_cpu_threads,
                         workers=settings.workers, compute_type=settings.whisper_compute_type)


def try_build_engine(settings: SpeechSettings) -> tuple[SpeechEngine | None, str | None]:
    """The engine, or (None, reason) so the rest of the system runs on without transcription."""
    try:
        return build_engine(settings), None
    except EngineUnavailable as exc:
        return None, str(exc)
