"""Parsing raw ARI JSON into typed events at the boundary."""

from callcenter.ari.ari_events import (
    ChannelDestroyed,
    ChannelDtmfReceived,
    GenericEvent,
    PlaybackFinished,
    RecordingFinished,
    StasisStart,
    TextMessageReceived,
    parse_event,
)

CHANNEL = {"id": "c1", "name": "PJSIP/citizens-00000001", "state": "Ring",
           "caller": {"name": "", "number": "13800138000"},
           "dialplan": {"context": "citizens", "exten": "12319", "priority": 2}}


def test_stasis_start_carries_the_caller_number_and_args() -> None:
    event = parse_event({"type": "StasisStart", "application": "hotline", "timestamp": "t",
                         "args": ["agent", "x"], "channel": CHANNEL})
    assert isinstance(event, StasisStart)
    assert event.channel.caller_number == "13800138000"
    assert event.channel.exten == "12319"
    assert event.args == ("agent", "x")
    assert event.route_key == "c1"


def test_dtmf_and_destroyed_are_typed() -> None:
    dtmf = parse_event({"type": "ChannelDtmfReceived", "digit": "#", "duration_ms": 120, "channel": CHANNEL})
    gone = parse_event({"type": "ChannelDestroyed", "cause": 16, "cause_txt": "Normal Clearing",
                        "channel": CHANNEL})
    assert isinstance(dtmf, ChannelDtmfReceived) and dtmf.digit == "#"
    assert isinstance(gone, ChannelDestroyed) and gone.cause == 16


def test_playback_and_recording_events_route_to_their_target() -> None:
    played = parse_event({"type": "PlaybackFinished", "playback": {
        "id": "p1", "media_uri": "sound:x", "target_uri": "channel:c9", "state": "done"}})
    recorded = parse_event({"type": "RecordingFinished", "recording": {
        "name": "r1", "format": "wav", "target_uri": "bridge:b1", "state": "done", "duration": 3}})
    assert isinstance(played, PlaybackFinished) and played.route_key == "c9"
    assert isinstance(recorded, RecordingFinished) and recorded.route_key == "b1"
    assert recorded.recording.duration == 3


def test_text_message_names_sender_and_body() -> None:
    event = parse_event({"type": "TextMessageReceived", "message": {
        "from": "sip:139@127.0.0.1", "to": "sip:12319@127.0.0.1", "body": "查询"},
        "endpoint": {"technology": "PJSIP", "resource": "citizens"}})
    assert isinstance(event, TextMessageReceived)
    assert (event.body, event.endpoint) == ("查询", "citizens")


def test_unknown_and_malformed_events_stay_generic() -> None:
    unknown = parse_event({"type": "SomethingNew", "x": 1})
    broken = parse_event({"type": "StasisStart"})  # no channel
    assert isinstance(unknown, GenericEvent) and unknown.raw["x"] == 1
    assert isinstance(broken, GenericEvent) and broken.route_key == "app"
