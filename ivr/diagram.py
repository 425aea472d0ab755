"""Mermaid state diagrams drawn from transition tables (state -> event/command type -> target states).

Used by scripts/gen_diagrams.py to keep docs/ivr.md in step with the tables; a unit test fails when the
committed document differs from what the tables give.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping


def state_diagram(
    table: Mapping[str, Mapping[type, Collection[str]]], initial: str, terminal: Collection[str] = ()
) -> str:
    """Mermaid `stateDiagram-v2` source. Edges between the same two states are merged into one label;
    self-loops (ignored keys, stale prompt ends and timers, reason changes) are left out to keep it readable."""
    order = {state: index for index, state in enumerate(table)}
    lines = ["stateDiagram-v2", f"    [*] --> {_name(initial)}"]
    for source, edges in table.items():
        labels: dict[str, list[str]] = {}
        for trigger, targets in edges.items():
            for target in sorted(targets, key=order.__getitem__):
                if target != source:
                    labels.setdefault(target, []).append(trigger.__name__)
        for target in sorted(labels, key=order.__getitem__):
            lines.append(f"    {_name(source)} --> {_name(target)}: {', '.join(labels[target])}")
    lines += [f"    {_name(state)} --> [*]" for state in table if state in terminal]
    return "\n".join(lines) + "\n"


def _name(state: str) -> str:
    return str(state)
