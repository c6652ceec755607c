"""Events half of the ARI client: the `/ari/events` WebSocket, kept alive with backoff.

Each message is parsed here, once, into the typed events of `models.py`; the handler never sees JSON.

Connecting the WebSocket is what registers the Stasis application with Asterisk. When the
connection drops (Asterisk restarted, HTTP module reloaded, network blip) calls keep running
inside Asterisk; we reconnect with capped exponential backoff and call `on_connect` so the
app can reconcile its calls with the channels Asterisk still has.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable

import aiohttp

from ari_app.ari.client import basic_auth_header
from ari_app.ari.models import ApplicationReplaced, AriEvent, parse_event

log = logging.getLogger(__name__)

EventHandler = Callable[[AriEvent], Awaitable[None]]
ConnectHandler = Callable[[], Awaitable[None]]


class StasisAppTaken(RuntimeError):
    """Another process serves this Stasis app now: this one must not take it back (the two would steal
    it from each other on every reconnect, and each would act on the other's calls)."""


class EventStream:
    """Delivers ARI events, in order, to one handler; survives disconnections."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        ws_url: str,
        user: str,
        password: str,
        app: str,
        handler: EventHandler,
        on_connect: ConnectHandler | None = None,
        backoff_initial_s: float = 0.25,
        backoff_max_s: float = 10.0,
    ) -> None:
        self._session = session
        self._url = ws_url
        self._params = {"app": app, "subscribeAll": "false"}
        self._headers = basic_auth_header(user, password)
        self._handler = handler
        self._on_connect = on_connect
        self._backoff_initial = backoff_initial_s
        self._backoff_max = backoff_max_s
        self._app = app
        self.connected = asyncio.Event()
        self.connections = 0  # how many times we have (re)connected; tests watch it grow

    async def wait_connected(self, timeout_s: float) -> None:
        await asyncio.wait_for(self.connected.wait(), timeout_s)

    async def run(self) -> None:
        """Run until cancelled; raises `StasisAppTaken` when another process took the app.

        A reconnect does not ask first whether the app is served: after a network blip Asterisk may
        still hold this process's half-open WebSocket, and that is not another process."""
        delay = self._backoff_initial
        while True:
            try:
                async with self._session.ws_connect(
                    self._url, params=self._params, headers=self._headers, heartbeat=15.0, autoping=True
                ) as ws:
                    self.connections += 1
                    log.info("ARI events connected (connection #%d)", self.connections)
                    delay = self._backoff_initial
                    self.connected.set()
                    if self._on_connect is not None:
                        await self._on_connect()
                    await self._pump(ws)
                    log.warning("ARI events WebSocket closed by Asterisk (code %s)", ws.close_code)
            except asyncio.CancelledError:
                raise
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("ARI events unavailable: %s: %s", type(exc).__name__, exc)
            finally:
                self.connected.clear()
            # Jitter keeps a fleet of dialers from reconnecting in lockstep after an Asterisk restart.
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self._backoff_max)

    async def _pump(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                try:
                    event = parse_event(json.loads(msg.data))
                except ValueError as exc:  # not JSON, or not an event we can read (MalformedEvent)
                    log.error("ARI sent a frame that is not a readable event (%s): %.200s", exc, msg.data)
                    continue
                if isinstance(event, ApplicationReplaced):
                    raise StasisAppTaken(f"Stasis app {self._app!r} was taken by another process "
                                         f"(ApplicationReplaced): give each process its own ARI_APP")
                try:
                    await self._handler(event)
                except Exception:  # one bad event must not take the whole stream down
                    log.exception("error handling ARI event %s", event.type)
            elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                break
