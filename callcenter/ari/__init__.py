"""Our own thin ARI client: REST, typed events, reconnect."""

from callcenter.ari.ari_events import Channel, Event, parse_event
from callcenter.ari.client import AriClient, AriError

__all__ = ["AriClient", "AriError", "Channel", "Event", "parse_event"]
