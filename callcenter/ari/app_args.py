"""The arguments of our Stasis application, encoded and decoded in one place.

A channel enters our application as `Stasis(<app>[,<kind>[,<call id>]])`: from the dialplan a caller has no
arguments (the IVR) or `queue` (straight to the queue); the legs we originate or snoop carry their kind and
the id of the call they belong to. Asterisk reports them as `StasisStart.args` (a list) and, for channels
listed after a reconnect, as `app_data` ("hotline,agent,abc").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class LegKind(StrEnum):
    CALLER = ""  # an inbound caller for the IVR (no arguments)
    QUEUE = "queue"  # an inbound caller straight to the queue (the benchmark's number, transfers back)
    AGENT = "agent"  # an agent's phone rung for a queued call or a transfer
    TRANSFER = "transfer"  # an outside number a call is transferred to
    OUTBOUND = "outbound"  # click-to-call and callback legs (the agent's phone, then the citizen)
    SURVEY = "survey"  # a satisfaction survey call
    SNOOP = "snoop"  # a snoop channel on a call (supervision, live speech)
    SUPERVISOR = "supervisor"  # the supervisor's phone


@dataclass(frozen=True)
class AppArgs:
    kind: LegKind
    call_id: str = ""

    @property
    def is_caller(self) -> bool:
        """A citizen's inbound channel, which starts a call of its own (others belong to a call)."""
        return self.kind in CALLER_KINDS

    def encode(self) -> str:
        """The `appArgs` of an originate or snoop request."""
        return ",".join(part for part in (self.kind.value, self.call_id) if part)


CALLER_KINDS = frozenset({LegKind.CALLER, LegKind.QUEUE})
_KINDS = {kind.value: kind for kind in LegKind}


def decode(args: Sequence[str]) -> AppArgs | None:
    """`StasisStart.args` as typed arguments; None for arguments we never encode."""
    values = list(args)
    kind = _KINDS.get(values[0] if values else "")
    if kind is None or len(values) > (1 if kind in CALLER_KINDS else 2):
        return None
    return AppArgs(kind, values[1] if len(values) > 1 else "")


def in_app(app_data: str, app_name: str) -> bool:
    """Whether a listed Stasis channel's `app_data` ("hotline,agent,abc") is in our application `app_name`."""
    return app_data.split(",")[0] == app_name


def decode_app_data(app_data: str) -> AppArgs | None:
    """The arguments of a listed Stasis channel (its `app_data` without the application name)."""
    return decode([part for part in app_data.split(",")[1:]])
