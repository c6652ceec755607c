"""A call's ARI events in: one handler per kind of event, for the call's channel and for its media channel.

The half of `Call` that Asterisk drives. The router calls `on_event` in ARI order, synchronously, so
nothing here may block the event stream: handlers set the asyncio events the call's own task waits
on (in_stasis, gone), note what the record keeps (hang-up cause, dial status) and queue journal rows.
The rows' kinds and data are what the dashboard and the tests read: keep them as they are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ari_app.ari import (
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelEvent,
    ChannelHangupRequest,
    ChannelStateChange,
    Dial,
    StasisEnd,
    StasisStart,
)

if TYPE_CHECKING:
    from ari_app.calls.machine import MachineCheck
    from ari_app.calls.media import CallMedia
    from media.conversation import Conversation

Handler = Callable[[Any, Any], None]  # (the call, its event): unbound methods of ChannelEventHandlers


class ChannelEventHandlers:
    """Mixed into `Call`; the annotations below are the call's attributes that the handlers use."""

    media: CallMedia
    machine_check: MachineCheck | None
    conversation: Conversation | None
    in_stasis: asyncio.Event
    gone: asyncio.Event
    hangup_cause: int | None
    hangup_cause_txt: str | None
    dial_status: str | None
    record: Callable[..., None]
    _loop: asyncio.AbstractEventLoop
    _stasis_at: float | None
    _tearing_down: bool

    def on_event(self, event: ChannelEvent) -> None:
        """Hand `event` to the handler for its kind; kinds without one are not the call's business."""
        on_media_channel = event.channel.id == self.media.media_channel_id
        handler = (MEDIA_CHANNEL_HANDLERS if on_media_channel else CALL_CHANNEL_HANDLERS).get(type(event))
        if handler is not None:
            handler(self, event)

    def on_channel_vanished(self) -> None:
        """Reconciliation after an ARI reconnect found our channel no longer exists."""
        if not self.gone.is_set():
            self.record("channel_vanished", {"reason": "not listed by Asterisk after reconnect"})
            self.gone.set()

    # --- the call's own channel --------------------------------------------------------------
    def _on_stasis_start(self, event: StasisStart) -> None:
        self.record("stasis_start", {"state": event.channel.state, "args": list(event.args)})
        self._stasis_at = self._stasis_at or self._loop.time()
        if self.machine_check is None or not self.machine_check.on_stasis_start(event.args):
            self.in_stasis.set()

    def _on_stasis_end(self, event: StasisEnd) -> None:
        if self.machine_check is not None and self.machine_check.in_dialplan:
            self.record("stasisend", {"to": "answering machine detection"})  # the channel is back with a verdict
            return
        # StasisEnd carries no cause; the row keeps the same shape as ChannelDestroyed's all the same.
        self.record("stasisend", {"cause": None, "cause_txt": None})
        self.gone.set()

    def _on_channel_destroyed(self, event: ChannelDestroyed) -> None:
        self._note_cause(event.cause, event.cause_txt)
        self.record("channeldestroyed", {"cause": event.cause, "cause_txt": event.cause_txt})
        self.gone.set()

    def _on_hangup_request(self, event: ChannelHangupRequest) -> None:
        # A soft request is our own DELETE (Asterisk reports it as cause 32); only the far
        # end's hang-up carries a cause worth keeping. ChannelDestroyed settles ours.
        if not event.soft:
            self._note_cause(event.cause, None)
        self.record("hangup_request", {"cause": event.cause, "soft": event.soft})

    def _on_dial(self, event: Dial) -> None:
        if event.dialstatus:  # empty while the dial is still under way
            self.dial_status = event.dialstatus
            self.record("dial", {"status": event.dialstatus})

    def _on_state_change(self, event: ChannelStateChange) -> None:
        self.record("channel_state", {"state": event.channel.state})

    def _on_dtmf(self, event: ChannelDtmfReceived) -> None:
        # Keys are not journaled one by one: a keyed RUT must not end up in the events in clear.
        if self.conversation is not None:
            self.conversation.press(event.digit)

    def _note_cause(self, cause: int | None, cause_txt: str | None) -> None:
        # The first cause reported wins: a later ChannelDestroyed after our own DELETE says 16.
        if self.hangup_cause is None and cause is not None:
            self.hangup_cause = cause
            self.hangup_cause_txt = cause_txt

    # --- its ExternalMedia channel -------------------------------------------------------------
    def _on_media_stasis_start(self, event: StasisStart) -> None:
        self.media.media_in_stasis.set()  # it can be bridged now (media.py says why it must wait)

    def _on_media_channel_lost(self, event: StasisEnd | ChannelDestroyed) -> None:
        if not self._tearing_down:  # our own teardown ends it too: not worth a row
            self.record("media_channel_lost", {"event": event.type})


CALL_CHANNEL_HANDLERS: Mapping[type[ChannelEvent], Handler] = {
    StasisStart: ChannelEventHandlers._on_stasis_start,
    StasisEnd: ChannelEventHandlers._on_stasis_end,
    ChannelDestroyed: ChannelEventHandlers._on_channel_destroyed,
    ChannelHangupRequest: ChannelEventHandlers._on_hangup_request,
    Dial: ChannelEventHandlers._on_dial,
    ChannelStateChange: ChannelEventHandlers._on_state_change,
    ChannelDtmfReceived: ChannelEventHandlers._on_dtmf,
}
MEDIA_CHANNEL_HANDLERS: Mapping[type[ChannelEvent], Handler] = {
    StasisStart: ChannelEventHandlers._on_media_stasis_start,
    StasisEnd: ChannelEventHandlers._on_media_channel_lost,
    ChannelDestroyed: ChannelEventHandlers._on_media_channel_lost,
}
