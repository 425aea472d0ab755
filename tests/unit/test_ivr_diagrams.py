"""docs/ivr.md and docs/telephony.md carry the diagrams generated from the IVR, agent and call tables."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def gen_diagrams() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_diagrams", ROOT / "scripts" / "gen_diagrams.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_diagrams_match_the_tables() -> None:
    gen = gen_diagrams()
    text = (ROOT / "docs" / "ivr.md").read_text(encoding="utf-8")
    assert gen.render(text, gen.ivr_blocks()) == text, "run: .venv/bin/python scripts/gen_diagrams.py"


def test_committed_call_diagram_matches_the_table() -> None:
    gen = gen_diagrams()
    text = (ROOT / "docs" / "telephony.md").read_text(encoding="utf-8")
    assert gen.render(text, gen.telephony_blocks()) == text, "run: .venv/bin/python scripts/gen_diagrams.py"
    assert "dialling --> connected: Answered" in gen.telephony_blocks()["call-lifecycle"]
    assert "ringing --> ready: restarted" in gen.telephony_blocks()["agent-restore"]


def test_the_restore_table_lists_every_agent_state_and_never_restores_a_cut_call() -> None:
    from callcenter.acd import AgentState
    from callcenter.domain.agent_session import RESTORED

    assert set(RESTORED) == set(AgentState)
    # A ring or a conversation needs a live call: only resume_call (a re-adopted conversation) goes there.
    assert not {AgentState.RINGING, AgentState.ON_CALL} & set(RESTORED.values())


def test_every_table_edge_is_drawn() -> None:
    blocks = gen_diagrams().ivr_blocks()
    assert "queued --> connected: AgentAnswered" in blocks["ivr-inbound"]
    assert "ask --> reason_prompt: Digit" in blocks["ivr-survey"]
    assert "ringing --> not_ready: RingNoAnswer" in blocks["acd-agent"]


def test_render_keeps_other_blocks_and_refuses_missing_ones() -> None:
    gen = gen_diagrams()
    text = "<!-- BEGIN GENERATED: other -->\nkeep\n<!-- END GENERATED: other -->\n"
    assert gen.render(text, {}) == text
    with pytest.raises(ValueError, match="no generated block named ivr-inbound"):
        gen.render(text, {"ivr-inbound": "x"})
