"""What a (re)started call runtime does with what Asterisk still holds: the adoption plan (pure).

After `kill -9` of the service, or a reconnect to Asterisk, ARI replays nothing: the runtime lists the
channels and bridges Asterisk has and reads its unfinished call rows, and this module decides, channel by
channel, without I/O:

- a conversation bridge `call-<id>` whose call row is unfinished, with the call's own channel alive and the
  other party in the bridge, is **resumed**: the call continues where it was (on hold when the caller is
  out of the bridge), and its agent is on that call again;
- any other bridge `call-<id>` of ours that no call owns is **destroyed** (its channels come back to our
  application and are judged like the rest);
- an agent leg answered while the service was away (in our application, in no bridge) and its waiting
  caller are **connected** (a resume without a bridge yet);
- a caller in our application that no call owns is **queued** again at its original arrival time (it was
  in the IVR, waiting, or its conversation's other party is gone);
- every other leg of ours (a ringing agent phone, an unbridged agent or outside leg, a survey, a snoop, a
  supervisor's phone) is **hung up**: a ring cut by the restart is resolved by hanging it up once, before
  the caller can be offered again, so no agent is rung twice for one call;
- a live call of ours whose channel Asterisk no longer has (Asterisk restarted) **lost a channel**: the
  call is told, and ends as if the channel had hung up;
- an unfinished call row with nothing left alive is **closed**.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from callcenter.ari.app_args import AppArgs, LegKind, decode_app_data, in_app
from callcenter.ari.ari_events import Bridge, Channel

BRIDGE_PREFIX = "call-"
SUPERVISION = "sup"  # supervisor legs: sup-<call id>-<n>-phone, -snoop (callcenter/supervise.py)


@dataclass(frozen=True)
class OpenCall:
    """An unfinished call row: its id, its own channel (the caller's, or the agent's phone on calls we place)
    and its direction."""

    id: str
    channel_id: str
    direction: str = "inbound"


@dataclass(frozen=True)
class Resume:
    """A conversation still bridged in Asterisk: take it up again. Without `bridge_id` the agent answered
    while the service was away: the two are bridged now."""

    call_id: str
    channel_id: str  # the call's own channel (the caller; the agent's phone on calls we place)
    other_channel: str  # the other party in the bridge (agent leg, citizen, outside number)
    bridge_id: str
    held: bool  # the call's own channel is out of the bridge (the caller hears music on hold)


@dataclass
class Plan:
    resume: list[Resume] = field(default_factory=list)
    destroy_bridges: list[str] = field(default_factory=list)
    queue: list[Channel] = field(default_factory=list)  # callers to adopt into the queue
    hang_up: list[str] = field(default_factory=list)
    lost_channels: list[str] = field(default_factory=list)  # owned by a live call, gone from Asterisk
    close: list[str] = field(default_factory=list)  # call ids whose rows are finished without a call


def _args(channel: Channel, app_name: str) -> AppArgs | None:
    """Our application's arguments of a channel in Stasis, or None (not in Stasis, or another app's)."""
    if channel.app_name != "Stasis" or not in_app(channel.app_data, app_name):
        return None
    return decode_app_data(channel.app_data)


def _leg_of(channel_id: str, calls: Collection[str]) -> bool:
    """Legs we place are named after their call (`<call id>-<what>`), a supervisor's `sup-<call id>-…`."""
    head, sep, rest = channel_id.partition("-")
    if head == SUPERVISION:
        head, sep, _ = rest.partition("-")
    return bool(sep) and head in calls


def plan(
    channels: Collection[Channel],
    bridges: Collection[Bridge],
    open_calls: Mapping[str, OpenCall],
    *,
    app_name: str,
    owned: Collection[str],
) -> Plan:
    """The adoption plan for what Asterisk holds (`channels`, `bridges`), the unfinished call rows by id,
    and the channel and bridge ids live calls already own."""
    out = Plan()
    alive = {c.id: c for c in channels}
    handled: set[str] = set()
    for bridge in bridges:
        if not bridge.id.startswith(BRIDGE_PREFIX) or bridge.id in owned:
            continue
        call = open_calls.get(bridge.id.removeprefix(BRIDGE_PREFIX))
        own = alive.get(call.channel_id) if call else None
        others = [c for c in bridge.channels if call is None or c != call.channel_id]
        if call is not None and own is not None and _args(own, app_name) is not None and len(others) == 1:
            out.resume.append(Resume(call.id, own.id, others[0], bridge.id, held=own.id not in bridge.channels))
            handled.update((own.id, others[0]))
        else:
            out.destroy_bridges.append(bridge.id)
    _answered_while_away(out, channels, bridges, open_calls, alive, handled, app_name, owned)
    for channel in channels:
        if channel.id in owned or channel.id in handled:
            continue
        args = _args(channel, app_name)
        if args is not None and args.is_caller:
            out.queue.append(channel)
        elif args is not None or _leg_of(channel.id, open_calls):
            out.hang_up.append(channel.id)
    out.lost_channels = [key for key in owned if not key.startswith(BRIDGE_PREFIX) and key not in alive]
    resumed, ended = {r.call_id for r in out.resume}, set(out.hang_up)
    out.close = [
        call.id
        for call in open_calls.values()
        if call.id not in resumed
        and (call.channel_id not in alive or call.channel_id in ended)
        and not _owned_call(call, owned)
    ]
    return out


def _answered_while_away(
    out: Plan,
    channels: Collection[Channel],
    bridges: Collection[Bridge],
    open_calls: Mapping[str, OpenCall],
    alive: Mapping[str, Channel],
    handled: set[str],
    app_name: str,
    owned: Collection[str],
) -> None:
    """An agent's phone answered while the service was away: the leg is in our application, in no bridge,
    and its waiting caller is alive: connect the two (the first such leg of a call; others are hung up)."""
    bridged = {c for b in bridges for c in b.channels}
    for channel in channels:
        args = _args(channel, app_name)
        if args is None or args.kind is not LegKind.AGENT or channel.id in owned or channel.id in bridged:
            continue
        call = open_calls.get(args.call_id)
        own = alive.get(call.channel_id) if call is not None and call.direction == "inbound" else None
        if call is None or own is None or own.id in owned or own.id in handled or _args(own, app_name) is None:
            continue
        out.resume.append(Resume(call.id, own.id, channel.id, "", held=False))
        handled.update((own.id, channel.id))


def agent_of(channel_id: str, call_id: str) -> str | None:
    """The agent an agent leg of `call_id` rings (`<call id>-<agent>-<n>`); None for other legs."""
    parts = channel_id.split("-")
    if len(parts) == 3 and parts[0] == call_id and parts[1] != "out":
        return parts[1]
    return None


def _owned_call(call: OpenCall, owned: Collection[str]) -> bool:
    """A live call of this instance has it (its channel, bridge or one of its legs)."""
    return (
        call.channel_id in owned
        or f"{BRIDGE_PREFIX}{call.id}" in owned
        or any(_leg_of(key, (call.id,)) for key in owned)
    )
