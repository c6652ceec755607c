"""A thin, typed asyncio client for the Asterisk REST Interface (REST + events WebSocket).

Why not a library: `ari` (ari-py) 0.1.3 is from 2014 and depends on Python-2-era swaggerpy;
the maintained alternatives (`ari-client`, `asyncari`) bring their own HTTP/async stacks
(httpx + websockets, anyio) next to the aiohttp this app already serves its API with. ARI is a
small REST surface plus one WebSocket, and the parts a call center relies on (reconnect with
backoff, reconciling live channels after a reconnect, ExternalMedia channel variables) are
exactly the parts we need to own and test.
"""

from ari_app.ari.client import AriClient, AriError
from ari_app.ari.events import EventStream, StasisAppTaken
from ari_app.ari.models import (
    ApplicationReplaced,
    AriEvent,
    Channel,
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelEvent,
    ChannelHangupRequest,
    ChannelStateChange,
    Dial,
    IgnoredEvent,
    MalformedEvent,
    StasisEnd,
    StasisStart,
    parse_event,
)

__all__ = [
    "ApplicationReplaced",
    "AriClient",
    "AriError",
    "AriEvent",
    "Channel",
    "ChannelDestroyed",
    "ChannelDtmfReceived",
    "ChannelEvent",
    "ChannelHangupRequest",
    "ChannelStateChange",
    "Dial",
    "EventStream",
    "IgnoredEvent",
    "MalformedEvent",
    "StasisAppTaken",
    "StasisEnd",
    "StasisStart",
    "parse_event",
]
