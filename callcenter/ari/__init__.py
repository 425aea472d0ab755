"""Our own thin ARI client: REST, typed events, per-channel mailboxes, reconnect."""

from callcenter.ari.client import AriClient, AriError
from callcenter.ari.events import Channel, Event, parse_event
from callcenter.ari.mailbox import Mailboxes

__all__ = ["AriClient", "AriError", "Channel", "Event", "Mailboxes", "parse_event"]
