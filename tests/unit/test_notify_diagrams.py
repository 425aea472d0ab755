"""docs/notify.md carries the diagrams generated from the three delivery lifecycle tables."""

from __future__ import annotations

from tests.unit.test_ivr_diagrams import ROOT, gen_diagrams
from ticketing.notify.domain import callback_lifecycle, outbox_lifecycle, webhook_lifecycle


def test_committed_notify_diagrams_match_the_tables() -> None:
    gen = gen_diagrams()
    text = (ROOT / "docs" / "notify.md").read_text(encoding="utf-8")
    assert gen.render(text, gen.notify_blocks()) == text, "run: .venv/bin/python scripts/gen_diagrams.py"


def test_every_edge_of_each_table_is_drawn() -> None:
    blocks = gen_diagrams().notify_blocks()
    for name, module in (("notify-callback", callback_lifecycle), ("notify-outbox", outbox_lifecycle),
                         ("notify-webhook", webhook_lifecycle)):
        drawn = [line.strip() for line in blocks[name].splitlines()]
        for (source, event), target in module.TRANSITIONS.items():
            edge = next(line for line in drawn if line.startswith(f"{source.value} --> {target.value}: "))
            assert event.value in edge.split(": ", 1)[1].split(", ")
        assert {f"{s.value} --> [*]" for s in module.TERMINAL} <= set(drawn)
    assert "calling --> deciding: call_ended" in blocks["notify-callback"]
