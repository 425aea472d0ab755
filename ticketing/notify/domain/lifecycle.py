"""A lifecycle as one transition table: `apply(state, event)`, and what the tests and the docs read off it.

The delivery queues (callbacks, outbox, webhooks) each declare their states and events as enums and one
`(state, event) -> state` table, like the case workflow. `apply` is pure: it returns the next state or raises
`IllegalTransition` and changes nothing; the adapters then write the new state with a compare-and-set on the
old one, so a row only ever moves along an edge of its table.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)


class IllegalTransition(ValueError):
    """The event is not allowed in the current state (a bug or a stale worker); nothing changed."""

    code = "illegal_transition"


@dataclass(frozen=True)
class Lifecycle(Generic[S, E]):
    name: str
    initial: S
    transitions: Mapping[tuple[S, E], S]

    def apply(self, state: S, event: E) -> S:
        """The state after `event`, or IllegalTransition when the table has no such edge."""
        target = self.transitions.get((state, event))
        if target is None:
            raise IllegalTransition(f"{self.name}: event {event.value!r} is not allowed in state {state.value!r}")
        return target

    @property
    def states(self) -> list[S]:
        return list(type(self.initial))

    def events_from(self, state: S) -> list[E]:
        return [event for (source, event) in self.transitions if source is state]

    def terminal(self) -> frozenset[S]:
        """States without an outgoing edge: a row there is finished."""
        return frozenset(s for s in self.states if not self.events_from(s))

    def reachable(self) -> frozenset[S]:
        """States reachable from the initial one along the table's edges."""
        seen, todo = {self.initial}, deque([self.initial])
        while todo:
            state = todo.popleft()
            for (source, _), target in self.transitions.items():
                if source is state and target not in seen:
                    seen.add(target)
                    todo.append(target)
        return frozenset(seen)

    def mermaid(self) -> str:
        """Mermaid `stateDiagram-v2` source: every edge (self-loops too), events between the same states merged."""
        edges: dict[tuple[S, S], list[str]] = {}
        for (source, event), target in self.transitions.items():
            edges.setdefault((source, target), []).append(event.value)
        order = {state: index for index, state in enumerate(self.states)}
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial.value}"]
        for (source, target) in sorted(edges, key=lambda pair: (order[pair[0]], order[pair[1]])):
            lines.append(f"    {source.value} --> {target.value}: {', '.join(edges[(source, target)])}")
        lines += [f"    {state.value} --> [*]" for state in self.states if state in self.terminal()]
        return "\n".join(lines) + "\n"
