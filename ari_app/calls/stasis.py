"""Telephony events in: routes each typed ARI event to the `Call` that owns the channel.

Inbound calls are born here, on the StasisStart that the dialplan's `Stasis(app,inbound,EXTEN)`
produces. Outbound calls are registered by the dialer *before* the originate request, because
Asterisk may send the first events for the new channel before the HTTP response arrives.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ari_app.ari import AriClient, AriError, AriEvent, ChannelEvent, StasisStart
from ari_app.calls.call import Call

log = logging.getLogger(__name__)

InboundFactory = Callable[[StasisStart], Call]
# The first Stasis argument of a channel that is a call in: the dialplan's [inbound], and a caller the
# human agents did not answer, back from [human-agents] (dialplan/extensions.conf), answered again
# here rather than dropped.
INBOUND_ARGS = ("inbound", "transfer_failed")


class CallRouter:
    def __init__(self, ari: AriClient, inbound_factory: InboundFactory) -> None:
        self._ari = ari
        self._inbound_factory = inbound_factory
        self._by_channel: dict[str, Call] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def calls(self) -> list[Call]:
        return list({id(c): c for c in self._by_channel.values()}.values())

    def start(self, call: Call) -> asyncio.Task[None]:
        """Register the call's channels, then run it; unregistered when its task ends."""
        self._by_channel[call.channel_id] = call
        self._by_channel[call.media.media_channel_id] = call
        task = asyncio.create_task(call.run(), name=f"call-{call.channel_id}")
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._forget(call, t))
        return task

    def _forget(self, call: Call, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        for key in (call.channel_id, call.media.media_channel_id):
            if self._by_channel.get(key) is call:
                del self._by_channel[key]

    async def handle(self, event: AriEvent) -> None:
        if not isinstance(event, ChannelEvent):
            return  # about no channel of ours that a call acts on (IgnoredEvent: variables, bridges, ...)
        call = self._by_channel.get(event.channel.id)
        # A channel entering Stasis again after its call let it go (a transfer nobody answered, back
        # from the dialplan while that call still tears down) is a new leg, not the old call's event.
        if isinstance(event, StasisStart) and (call is None or call.gone.is_set()):
            call = await self._on_unknown_stasis_start(event)
            if call is None:
                return
        if call is not None:
            call.on_event(event)

    async def _on_unknown_stasis_start(self, event: StasisStart) -> Call | None:
        channel = event.channel
        if event.args and event.args[0] in INBOUND_ARGS:
            call = self._inbound_factory(event)
            self.start(call)
            return call
        # An ExternalMedia or outbound channel we no longer know (e.g. left over from before a
        # restart of this process): nobody will ever talk on it, so do not leave it hanging.
        log.warning("hanging up unknown channel %s entering Stasis (args %s)", channel.name, list(event.args))
        try:
            await self._ari.hangup(channel.id)
        except AriError as exc:
            log.warning("could not hang up %s: %s", channel.name, exc)
        return None

    async def reconcile(self) -> None:
        """After (re)connecting: calls whose channel Asterisk no longer has are over."""
        if not self._by_channel:
            return
        live = {c.id for c in await self._ari.list_channels()}
        for call in self.calls:
            if call.in_stasis.is_set() and call.channel_id not in live:
                call.on_channel_vanished()
        log.info("reconciled %d call(s) with %d live channel(s)", len(self.calls), len(live))

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
