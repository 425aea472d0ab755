"""The committed prompt audio: one 8 kHz mono 16-bit WAV per prompt text, rendered from the current text."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from ivr.loader import PROMPTS_DIR, load_prompt_catalogue

CATALOGUE = load_prompt_catalogue()
MAX_TOTAL_BYTES = 3 * 1024 * 1024


def test_every_prompt_has_audio_and_no_audio_is_orphaned() -> None:
    assert {p.stem for p in PROMPTS_DIR.glob("*.wav")} == set(CATALOGUE)


@pytest.mark.parametrize("prompt_id", sorted(CATALOGUE))
def test_audio_is_asterisk_ready(prompt_id: str) -> None:
    with wave.open(str(PROMPTS_DIR / f"{prompt_id}.wav"), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
        assert 0.1 < wav.getnframes() / 8000 < 15


def test_audio_was_rendered_from_the_current_texts() -> None:
    rows = (Path(PROMPTS_DIR / "manifest.tsv").read_text(encoding="utf-8")).splitlines()
    rendered = {pid: text for pid, text, _engine in (row.split("\t") for row in rows)}
    stale = sorted(pid for pid, text in CATALOGUE.items() if rendered.get(pid) != text)
    assert stale == [], "re-render with scripts/render_prompts.py"


def test_committed_audio_stays_small() -> None:
    assert sum(p.stat().st_size for p in PROMPTS_DIR.glob("*.wav")) < MAX_TOTAL_BYTES
