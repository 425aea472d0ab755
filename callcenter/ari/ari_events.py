"""Typed ARI events, parsed at the boundary from the websocket's raw JSON.

Field names follow /usr/share/asterisk/rest-api/events.json. Only what the runtime reads is typed; the raw
dictionary stays available on every event (`raw`) for logging and for the rare extra field.
Unknown event types become `GenericEvent` instead of failing: Asterisk adds events between versions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    state: str
    caller_number: str = ""
    caller_name: str = ""
    exten: str = ""
    context: str = ""
    creationtime: str = ""
    app_name: str = ""
    app_data: str = ""

    @classmethod
    def from_json(cls, data: Json) -> Channel:
        caller = data.get("caller") or {}
        plan = data.get("dialplan") or {}
        return cls(
            id=str(data["id"]), name=str(data.get("name", "")), state=str(data.get("state", "")),
            caller_number=str(caller.get("number", "")), caller_name=str(caller.get("name", "")),
            exten=str(plan.get("exten", "")), context=str(plan.get("context", "")),
            creationtime=str(data.get("creationtime", "")),
            app_name=str(plan.get("app_name", "")), app_data=str(plan.get("app_data", "")),
        )

    @property
    def technology(self) -> str:
        return self.name.split("/", 1)[0]


@dataclass(frozen=True)
class Bridge:
    id: str
    bridge_type: str
    channels: tuple[str, ...]
    name: str = ""

    @classmethod
    def from_json(cls, data: Json) -> Bridge:
        return cls(str(data["id"]), str(data.get("bridge_type", "")),
                   tuple(data.get("channels") or ()), str(data.get("name", "")))


@dataclass(frozen=True)
class Playback:
    id: str
    media_uri: str
    target_uri: str
    state: str

    @classmethod
    def from_json(cls, data: Json) -> Playback:
        return cls(str(data["id"]), str(data.get("media_uri", "")), str(data.get("target_uri", "")),
                   str(data.get("state", "")))


@dataclass(frozen=True)
class Recording:
    name: str
    format: str
    target_uri: str
    state: str
    duration: int | None = None
    cause: str = ""

    @classmethod
    def from_json(cls, data: Json) -> Recording:
        return cls(str(data["name"]), str(data.get("format", "")), str(data.get("target_uri", "")),
                   str(data.get("state", "")), data.get("duration"), str(data.get("cause", "")))


@dataclass(frozen=True)
class Event:
    type: str
    application: str
    timestamp: str
    raw: Json = field(repr=False, compare=False)

    @property
    def route_key(self) -> str:
        """The mailbox this event belongs to: its channel, else its target, else the application."""
        return "app"


@dataclass(frozen=True)
class GenericEvent(Event):
    pass


@dataclass(frozen=True)
class ChannelEvent(Event):
    channel: Channel

    @property
    def route_key(self) -> str:
        return self.channel.id


@dataclass(frozen=True)
class StasisStart(ChannelEvent):
    args: tuple[str, ...] = ()
    replace_channel: Channel | None = None


@dataclass(frozen=True)
class StasisEnd(ChannelEvent):
    pass


@dataclass(frozen=True)
class ChannelDtmfReceived(ChannelEvent):
    digit: str = ""
    duration_ms: int = 0


@dataclass(frozen=True)
class ChannelStateChange(ChannelEvent):
    pass


@dataclass(frozen=True)
class ChannelHangupRequest(ChannelEvent):
    cause: int = 0
    soft: bool = False


@dataclass(frozen=True)
class ChannelDestroyed(ChannelEvent):
    cause: int = 0
    cause_txt: str = ""


@dataclass(frozen=True)
class ChannelEnteredBridge(ChannelEvent):
    bridge: Bridge | None = None


@dataclass(frozen=True)
class ChannelLeftBridge(ChannelEvent):
    bridge: Bridge | None = None


@dataclass(frozen=True)
class Dial(Event):
    peer: Channel | None = None
    caller: Channel | None = None
    dialstatus: str = ""

    @property
    def route_key(self) -> str:
        return self.peer.id if self.peer else "app"


def _target_key(target_uri: str) -> str:
    # "channel:ID" or "bridge:ID": playbacks and recordings go to the mailbox of what they play on.
    kind, _, ident = target_uri.partition(":")
    return ident if kind in ("channel", "bridge") and ident else "app"


@dataclass(frozen=True)
class PlaybackEvent(Event):
    playback: Playback

    @property
    def route_key(self) -> str:
        return _target_key(self.playback.target_uri)


@dataclass(frozen=True)
class PlaybackStarted(PlaybackEvent):
    pass


@dataclass(frozen=True)
class PlaybackFinished(PlaybackEvent):
    pass


@dataclass(frozen=True)
class RecordingEvent(Event):
    recording: Recording

    @property
    def route_key(self) -> str:
        return _target_key(self.recording.target_uri)


@dataclass(frozen=True)
class RecordingStarted(RecordingEvent):
    pass


@dataclass(frozen=True)
class RecordingFinished(RecordingEvent):
    pass


@dataclass(frozen=True)
class RecordingFailed(RecordingEvent):
    pass


@dataclass(frozen=True)
class TextMessageReceived(Event):
    sender: str = ""
    to: str = ""
    body: str = ""
    endpoint: str = ""


def _channel(data: Json | None) -> Channel | None:
    return Channel.from_json(data) if data else None


def _bridge(data: Json | None) -> Bridge | None:
    return Bridge.from_json(data) if data else None


_CHANNEL_TYPES: dict[str, type[ChannelEvent]] = {
    "StasisEnd": StasisEnd, "ChannelStateChange": ChannelStateChange,
}
_PLAYBACK_TYPES = {"PlaybackStarted": PlaybackStarted, "PlaybackFinished": PlaybackFinished}
_RECORDING_TYPES = {"RecordingStarted": RecordingStarted, "RecordingFinished": RecordingFinished,
                    "RecordingFailed": RecordingFailed}


def _specific(kind: str, raw: Json, base: dict[str, Any]) -> Event | None:
    if kind == "StasisStart":
        return StasisStart(**base, channel=Channel.from_json(raw["channel"]),
                           args=tuple(raw.get("args") or ()),
                           replace_channel=_channel(raw.get("replace_channel")))
    if kind == "ChannelDtmfReceived":
        return ChannelDtmfReceived(**base, channel=Channel.from_json(raw["channel"]),
                                   digit=str(raw.get("digit", "")),
                                   duration_ms=int(raw.get("duration_ms", 0)))
    if kind == "ChannelHangupRequest":
        return ChannelHangupRequest(**base, channel=Channel.from_json(raw["channel"]),
                                    cause=int(raw.get("cause", 0)), soft=bool(raw.get("soft", False)))
    if kind == "ChannelDestroyed":
        return ChannelDestroyed(**base, channel=Channel.from_json(raw["channel"]),
                                cause=int(raw.get("cause", 0)), cause_txt=str(raw.get("cause_txt", "")))
    if kind in ("ChannelEnteredBridge", "ChannelLeftBridge"):
        cls = ChannelEnteredBridge if kind == "ChannelEnteredBridge" else ChannelLeftBridge
        return cls(**base, channel=Channel.from_json(raw["channel"]), bridge=_bridge(raw.get("bridge")))
    if kind == "Dial":
        return Dial(**base, peer=_channel(raw.get("peer")), caller=_channel(raw.get("caller")),
                    dialstatus=str(raw.get("dialstatus", "")))
    if kind == "TextMessageReceived":
        message = raw.get("message") or {}
        return TextMessageReceived(**base, sender=str(message.get("from", "")),
                                   to=str(message.get("to", "")), body=str(message.get("body", "")),
                                   endpoint=str((raw.get("endpoint") or {}).get("resource", "")))
    return None


def parse_event(raw: Json) -> Event:
    """Turn one websocket message into a typed event; unknown or malformed ones become GenericEvent."""
    kind = str(raw.get("type", ""))
    base = {"type": kind, "application": str(raw.get("application", "")),
            "timestamp": str(raw.get("timestamp", "")), "raw": raw}
    try:
        if kind in _CHANNEL_TYPES:
            return _CHANNEL_TYPES[kind](**base, channel=Channel.from_json(raw["channel"]))
        if kind in _PLAYBACK_TYPES:
            return _PLAYBACK_TYPES[kind](**base, playback=Playback.from_json(raw["playback"]))
        if kind in _RECORDING_TYPES:
            return _RECORDING_TYPES[kind](**base, recording=Recording.from_json(raw["recording"]))
        event = _specific(kind, raw, base)
    except (KeyError, TypeError, ValueError):
        event = None
    return event if event is not None else GenericEvent(**base)
