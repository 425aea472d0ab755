"""Our own thin ARI client: REST, typed events, reconnect."""

from callcenter.ari.client import AriClient, AriError
from callcenter.ari.events import Channel, Event, parse_event

__all__ = ["AriClient", "AriError", "Channel", "Event", "parse_event"]
