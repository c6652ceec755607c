"""Typed ARI events reach the right call, and each kind has its handler there.

The journal rows checked here (kind and data) are what the dashboard and the lab tests read back.
"""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import MagicMock

from ari_app.ari import AriEvent, ChannelEvent, StasisStart, parse_event
from ari_app.ari.models import EVENT_TYPES, ApplicationReplaced
from ari_app.calls.call import Call, CallServices
from ari_app.calls.channel_events import CALL_CHANNEL_HANDLERS
from ari_app.calls.legs import AmdVerdict, OutboundRequest
from ari_app.calls.media import MediaConfig
from ari_app.calls.stasis import CallRouter
from campaigns.calls import Direction

CALL, MEDIA = "1712345678.42", "1712345678.42-media"


def chan(channel_id: str = CALL, state: str = "Up") -> dict[str, Any]:
    return {"id": channel_id, "name": "PJSIP/phone-00000012", "state": state,
            "caller": {"name": "", "number": "+56912345678"}, "connected": {"name": "", "number": ""},
            "accountcode": "", "dialplan": {"context": "inbound", "exten": "7001", "priority": 1,
                                            "app_name": "Stasis", "app_data": "callcenter,inbound,7001"},
            "creationdate": "2025-03-04T10:15:30.123-0300", "language": "es"}


def ev(kind: str, **fields: Any) -> AriEvent:
    return parse_event({"type": kind, "application": "callcenter", "timestamp": "2025-03-04T10:15:30.456-0300",
                        "asterisk_id": "02:42:ac:11:00:02", **fields})


def make_call(outbound: OutboundRequest | None = None) -> tuple[Call, list[tuple[str, dict[str, Any]]], list[str]]:
    """A call that is never run: its journal rows and the keys its conversation heard are collected."""
    services = CallServices(ari=MagicMock(), call_log=MagicMock(), tts=MagicMock(),
                            media=MediaConfig("127.0.0.1", (40000, 40100), "ulaw"), greeting="Hola",
                            silence_timeout_s=1.0, originate_timeout_s=30)
    call = Call(services, direction=Direction.OUTBOUND if outbound else Direction.INBOUND, channel_id=CALL,
                outbound=outbound)
    rows: list[tuple[str, dict[str, Any]]] = []
    keys: list[str] = []
    call._journal.record = lambda kind, data=None: rows.append((kind, data or {}))  # type: ignore[method-assign]
    call.conversation = MagicMock(press=keys.append)
    return call, rows, keys


def feed(call: Call, *events: AriEvent) -> None:
    for event in events:
        assert isinstance(event, ChannelEvent)
        call.on_event(event)


# --- the call's handlers --------------------------------------------------------------------------
async def test_an_inbound_call_from_stasis_to_the_far_end_hanging_up():
    call, rows, keys = make_call()
    feed(call,
         ev("StasisStart", args=["inbound", "7001"], channel=chan(state="Ring")),
         ev("ChannelStateChange", channel=chan(state="Up")),
         ev("StasisStart", args=[], channel=chan(MEDIA)),
         ev("ChannelDtmfReceived", digit="1", duration_ms=100, channel=chan()),
         ev("ChannelHangupRequest", cause=16, channel=chan()),
         ev("StasisEnd", channel=chan()))
    assert call.in_stasis.is_set() and call.media.media_in_stasis.is_set() and call.gone.is_set()
    assert keys == ["1"]  # pressed, never journaled (a keyed RUT must not sit in the events)
    assert rows == [
        ("stasis_start", {"state": "Ring", "args": ["inbound", "7001"]}),
        ("channel_state", {"state": "Up"}),
        ("hangup_request", {"cause": 16, "soft": False}),
        ("stasisend", {"cause": None, "cause_txt": None}),
    ]
    feed(call, ev("ChannelDestroyed", cause=16, cause_txt="Normal Clearing", channel=chan(state="Down")))
    assert rows[-1] == ("channeldestroyed", {"cause": 16, "cause_txt": "Normal Clearing"})
    assert (call.hangup_cause, call.hangup_cause_txt) == (16, None)  # the first cause reported wins


async def test_our_own_soft_hangup_leaves_the_cause_to_channel_destroyed():
    call, rows, _ = make_call()
    feed(call,
         ev("StasisStart", args=["inbound", "7001"], channel=chan()),
         ev("ChannelHangupRequest", cause=32, soft=True, channel=chan()),
         ev("ChannelDestroyed", cause=16, cause_txt="Normal Clearing", channel=chan(state="Down")))
    assert rows[1] == ("hangup_request", {"cause": 32, "soft": True})
    assert (call.hangup_cause, call.hangup_cause_txt) == (16, "Normal Clearing")


async def test_an_unanswered_outbound_call_keeps_its_dial_status_and_cause():
    call, rows, _ = make_call(OutboundRequest("PJSIP/+56912345678@trunk", "+56912345678"))
    feed(call,
         ev("Dial", peer=chan(state="Down"), dialstring="+56912345678@trunk", dialstatus=""),
         ev("Dial", peer=chan(state="Ringing"), dialstring="+56912345678@trunk", dialstatus="BUSY"),
         ev("ChannelHangupRequest", cause=17, channel=chan()),
         ev("ChannelDestroyed", cause=17, cause_txt="User busy", channel=chan(state="Down")))
    assert not call.in_stasis.is_set() and call.gone.is_set()
    assert (call.dial_status, call.hangup_cause) == ("BUSY", 17)
    assert [kind for kind, _ in rows] == ["dial", "hangup_request", "channeldestroyed"]  # no row for progress


async def test_answering_machine_detection_leaves_stasis_and_comes_back_with_a_verdict():
    call, rows, _ = make_call(OutboundRequest("PJSIP/+56912345678@trunk", "+56912345678", answering_machine="hangup"))
    assert call.machine_check is not None
    feed(call, ev("StasisStart", args=["outbound", str(call.attempt_id)], channel=chan()))
    assert call.machine_check.answered.is_set() and not call.in_stasis.is_set()  # the verdict is still to come
    call.machine_check.in_dialplan = True  # what MachineCheck.start() does when it sends the channel to AMD()
    feed(call,
         ev("StasisEnd", channel=chan()),
         ev("StasisStart", args=["outbound", str(call.attempt_id), "MACHINE", "LONGGREETING-2000-1500"],
            channel=chan()))
    assert not call.gone.is_set() and call.in_stasis.is_set()
    assert call.machine_check.verdict == AmdVerdict("MACHINE", "LONGGREETING-2000-1500")
    assert rows[1] == ("stasisend", {"to": "answering machine detection"})


async def test_the_media_channel_lost_mid_call_is_journaled_but_not_during_our_teardown():
    call, rows, _ = make_call()
    feed(call, ev("StasisStart", args=["inbound", "7001"], channel=chan()), ev("StasisEnd", channel=chan(MEDIA)))
    call._tearing_down = True
    feed(call, ev("ChannelDestroyed", cause=16, cause_txt="Normal Clearing", channel=chan(MEDIA)))
    assert rows[1:] == [("media_channel_lost", {"event": "StasisEnd"})]
    assert not call.gone.is_set()  # the media channel's end is not the call's


def test_every_event_the_parser_models_has_a_handler_on_the_call():
    # ApplicationReplaced is about the whole app, not a channel: the events stream itself acts on it.
    assert set(EVENT_TYPES.values()) - {ApplicationReplaced} == set(CALL_CHANNEL_HANDLERS)


# --- the router -----------------------------------------------------------------------------------
class StubCall:
    """What the router needs of a call: its channels, whether it is gone, and events in."""

    def __init__(self, channel_id: str) -> None:
        self.channel_id = channel_id
        self.media = MagicMock(media_channel_id=f"{channel_id}-media")
        self.in_stasis = asyncio.Event()
        self.gone = asyncio.Event()
        self.events: list[AriEvent] = []
        self._done = asyncio.Event()

    def on_event(self, event: AriEvent) -> None:
        self.events.append(event)

    async def run(self) -> None:
        await self._done.wait()


def make_router() -> tuple[CallRouter, list[StasisStart], MagicMock]:
    born: list[StasisStart] = []
    ari = MagicMock()

    async def hangup(channel_id: str, reason: str = "normal") -> bool:
        ari.hung_up.append(channel_id)
        return True

    ari.hung_up = []
    ari.hangup = hangup

    def inbound(event: StasisStart) -> Any:
        born.append(event)
        return StubCall(event.channel.id)

    return CallRouter(ari, inbound), born, ari


async def test_events_reach_the_call_that_owns_the_channel_or_its_media_channel():
    router, born, _ = make_router()
    call = StubCall(CALL)
    router.start(call)  # type: ignore[arg-type]
    await router.handle(ev("ChannelStateChange", channel=chan()))
    await router.handle(ev("StasisStart", args=[], channel=chan(MEDIA)))
    await router.handle(ev("Dial", peer=chan(), dialstatus="ANSWER"))
    await router.handle(ev("ChannelStateChange", channel=chan("someone-else")))
    await router.handle(ev("ChannelVarset", variable="X", value="1", channel=chan()))  # IgnoredEvent
    assert [type(e).__name__ for e in call.events] == ["ChannelStateChange", "StasisStart", "Dial"]
    assert born == []
    await router.shutdown()


async def test_an_inbound_stasis_start_on_a_new_channel_starts_a_call():
    router, born, ari = make_router()
    await router.handle(ev("StasisStart", args=["inbound", "7001", "identify"], channel=chan("new-chan")))
    assert [e.channel.id for e in born] == ["new-chan"] and born[0].args == ("inbound", "7001", "identify")
    (call,) = router.calls
    assert call.events == born  # the StasisStart that created the call is its first event
    assert ari.hung_up == []
    await router.shutdown()


async def test_a_caller_back_from_an_unanswered_transfer_is_a_new_call():
    router, born, _ = make_router()
    old = StubCall(CALL)
    router.start(old)  # type: ignore[arg-type]
    old.gone.set()  # the old call let the channel go to the human agents
    await router.handle(ev("StasisStart", args=["transfer_failed", "NOANSWER", "5b0c8f9e"], channel=chan()))
    assert len(born) == 1 and old.events == []
    await router.shutdown()


async def test_an_unknown_channel_entering_stasis_is_hung_up():
    router, born, ari = make_router()
    await router.handle(ev("StasisStart", args=["outbound", "5b0c8f9e"], channel=chan("left-over")))
    await router.handle(ev("StasisStart", args=[], channel=chan("left-over-media")))
    assert born == [] and router.calls == []
    assert ari.hung_up == ["left-over", "left-over-media"]
