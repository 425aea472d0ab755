"""Renders docs/workflow.md from the transition table, so the diagram can never drift from the code.

Run `python -m ticketing.workflow_doc > docs/workflow.md`; a test fails when the committed file is stale.
"""

from __future__ import annotations

from collections import defaultdict

from ticketing.domain.model import State
from ticketing.domain.workflow import COMMAND_LABELS, NEEDS_REASON, PERMISSIONS, TERMINAL, TRANSITIONS

INTRO = """# The case workflow

Generated from `ticketing/domain/workflow.py` by `python -m ticketing.workflow_doc`; do not edit by hand.

States follow CJ/T 315 / GB/T 30428.8. Requests that need a decision (回退, 延期, 挂账, 作废, 核实, 核查) are
their own records with their own state (pending → approved / refused / done); a request command leaves the
case in its state and records the request. Every command runs in one transaction, bumps the case's
version (optimistic locking: a command carrying an old version is refused with `stale_version`) and appends
one history row. Terminal: {terminal}.

Time limits: each stage (受理, 立案, 派遣, 处置, 核查, 结案) gets a clock when it starts, with `due_at` and
`yellow_at` (80 % of the limit) stamped from the working calendar. 工作时 count only working periods
(default 08:30–12:00, 13:30–17:30, Monday–Friday, official holidays and 调休 make-up days from
`chinese-calendar`, plus days entered by administrators); one 工作日 is one working day's worth of working
time (7.5 h by default); 紧急工作时 and 小时 run on calendar time. A 延期 adds its amount to the handling
limit; 挂账 stops the handling clock and 恢复 moves its marks by the working time spent in backlog; 返工
starts a new handling clock with the rework limit; 重办 starts a new handling clock with the category limit.
"""


def render() -> str:
    lines = [INTRO.format(terminal=", ".join(sorted(s.value for s in TERMINAL))), "```mermaid",
             "stateDiagram-v2", "    [*] --> reported: 上报"]
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for (source, command), target in TRANSITIONS.items():
        edges[(source.value, target.value)].append(COMMAND_LABELS[command])
    for (source, target), labels in edges.items():
        lines.append(f"    {source} --> {target}: {' / '.join(labels)}")
    for state in sorted(TERMINAL, key=lambda s: s.value):
        lines.append(f"    {state.value} --> [*]")
    lines += ["```", "", "| state | 中文 | commands (who may issue them) |", "|---|---|---|"]
    for state in State:
        commands = [f"`{c}` {COMMAND_LABELS[c]} ({', '.join(sorted(r.value for r in PERMISSIONS[c]))})"
                    + (" *reason required*" if c in NEEDS_REASON else "")
                    for (s, c) in TRANSITIONS if s is state]
        lines.append(f"| `{state.value}` | {state.label} | {'<br>'.join(commands) or '—'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
