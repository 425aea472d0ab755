"""Regenerate the state diagrams in the docs from the transition tables.

    .venv/bin/python scripts/gen_diagrams.py          # rewrite the generated blocks in place
    .venv/bin/python scripts/gen_diagrams.py --check  # exit 1 if a document is out of date

A generated block sits between `<!-- BEGIN GENERATED: name -->` and `<!-- END GENERATED: name -->`; only the
text between the markers is replaced. To add a diagram, add a `(document, blocks function)` pair to `DOCUMENTS`.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from callcenter.acd import agent as acd_agent  # noqa: E402
from callcenter.domain import agent_session, call_lifecycle  # noqa: E402
from ivr import inbound, survey  # noqa: E402
from ivr.diagram import state_diagram  # noqa: E402
from ticketing.notify.domain import callback_lifecycle, outbox_lifecycle, webhook_lifecycle  # noqa: E402

BLOCK = re.compile(r"(<!-- BEGIN GENERATED: (?P<name>[\w-]+) -->\n).*?(<!-- END GENERATED: (?P=name) -->)", re.S)


def mermaid(source: str) -> str:
    return f"```mermaid\n{source}```\n"


def ivr_blocks() -> dict[str, str]:
    """The IVR and ACD diagrams of docs/ivr.md."""
    return {
        "ivr-inbound": mermaid(
            state_diagram(inbound.TRANSITIONS, inbound.InboundSession.INITIAL, inbound.InboundSession.TERMINAL)
        ),
        "ivr-survey": mermaid(
            state_diagram(survey.TRANSITIONS, survey.SurveySession.INITIAL, survey.SurveySession.TERMINAL)
        ),
        "acd-agent": mermaid(state_diagram(acd_agent.TRANSITIONS, acd_agent.INITIAL_STATE)),
    }


def notify_blocks() -> dict[str, str]:
    """The delivery lifecycles of docs/notify.md (callback, outbox message, webhook delivery)."""
    return {
        "notify-callback": mermaid(callback_lifecycle.LIFECYCLE.mermaid()),
        "notify-outbox": mermaid(outbox_lifecycle.LIFECYCLE.mermaid()),
        "notify-webhook": mermaid(webhook_lifecycle.LIFECYCLE.mermaid()),
    }


def agent_restore() -> str:
    """The stored agent state -> the state after a restart; a re-adopted conversation puts its agent on call."""
    lines = ["stateDiagram-v2"]
    for stored, back in agent_session.RESTORED.items():
        lines.append(f"    {stored.value} --> {back.value}: restarted")
    lines.append(f"    {agent_session.S.WRAP_UP.value} --> {agent_session.S.ON_CALL.value}: conversation resumed")
    return "\n".join(lines) + "\n"


def telephony_blocks() -> dict[str, str]:
    """The call lifecycle and agent-restore diagrams of docs/telephony.md."""
    return {
        "call-lifecycle": mermaid(state_diagram(call_lifecycle.TRANSITIONS, call_lifecycle.INITIAL_STATE,
                                                call_lifecycle.TERMINAL_STATES)),
        "agent-restore": mermaid(agent_restore()),
    }


DOCUMENTS: list[tuple[Path, Callable[[], dict[str, str]]]] = [
    (ROOT / "docs" / "ivr.md", ivr_blocks),
    (ROOT / "docs" / "notify.md", notify_blocks),
    (ROOT / "docs" / "telephony.md", telephony_blocks),
]


def render(text: str, blocks: dict[str, str]) -> str:
    """Replace every generated block whose name is in `blocks`; a named block missing from `text` is an error."""
    missing = set(blocks) - {m.group("name") for m in BLOCK.finditer(text)}
    if missing:
        raise ValueError(f"no generated block named {', '.join(sorted(missing))}")

    def replace(m: re.Match[str]) -> str:
        name = m.group("name")
        return m.group(1) + blocks[name] + m.group(3) if name in blocks else m.group(0)

    return BLOCK.sub(replace, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate state diagrams in the docs")
    parser.add_argument("--check", action="store_true", help="only report documents that are out of date")
    args = parser.parse_args(argv)
    stale = []
    for path, blocks in DOCUMENTS:
        old = path.read_text(encoding="utf-8")
        new = render(old, blocks())
        if new != old:
            stale.append(path)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    for path in stale:
        print(f"{'out of date' if args.check else 'updated'}: {path.relative_to(ROOT)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
