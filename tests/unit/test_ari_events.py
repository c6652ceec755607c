"""ARI events are parsed once, into typed events, where the WebSocket hands them out.

The payloads are shaped as Asterisk 22 sends them (rest-api/api-docs/events.json: every event has
type, application, timestamp and asterisk_id; channels carry caller, dialplan, creationdate...).
A message the app cannot read is logged and skipped: it must never stop the stream.
"""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from ari_app.ari import (
    ApplicationReplaced,
    AriEvent,
    Channel,
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelHangupRequest,
    ChannelStateChange,
    Dial,
    EventStream,
    IgnoredEvent,
    MalformedEvent,
    StasisAppTaken,
    StasisEnd,
    StasisStart,
    parse_event,
)


def channel(channel_id: str = "1712345678.42", state: str = "Up", **extra: Any) -> dict[str, Any]:
    return {
        "id": channel_id,
        "name": "PJSIP/phone-00000012",
        "state": state,
        "protocol_id": "b2f9c3a1-5d7e@127.0.0.1",
        "caller": {"name": "Ana", "number": "+56912345678"},
        "connected": {"name": "", "number": ""},
        "accountcode": "",
        "dialplan": {"context": "inbound", "exten": "7001", "priority": 1, "app_name": "Stasis",
                     "app_data": "callcenter,inbound,7001"},
        "creationdate": "2025-03-04T10:15:30.123-0300",
        "language": "es",
        **extra,
    }


def event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "timestamp": "2025-03-04T10:15:30.456-0300", "asterisk_id": "02:42:ac:11:00:02",
            "application": "callcenter", **fields}


def test_stasis_start_carries_its_channel_and_arguments():
    raw = event("StasisStart", args=["inbound", "7001", "identify"], channel=channel(state="Ring"))
    parsed = parse_event(raw)
    assert parsed == StasisStart(type="StasisStart", application="callcenter",
                                 timestamp="2025-03-04T10:15:30.456-0300", args=("inbound", "7001", "identify"),
                                 channel=Channel("1712345678.42", "PJSIP/phone-00000012", "Ring",
                                                 caller_number="+56912345678", dialplan_exten="7001"))
    assert parsed.raw is raw  # the payload as received stays at hand, for logs


def test_an_originated_channel_enters_stasis_with_the_originate_arguments():
    parsed = parse_event(event("StasisStart", args=["outbound", "5b0c8f9e-1d2a-4c3b-9e8f-7a6b5c4d3e2f"],
                               channel=channel("attempt-chan", caller={"name": "", "number": ""})))
    assert isinstance(parsed, StasisStart)
    assert parsed.args == ("outbound", "5b0c8f9e-1d2a-4c3b-9e8f-7a6b5c4d3e2f")
    assert parsed.channel.id == "attempt-chan" and parsed.channel.caller_number == ""


def test_a_stasis_start_without_arguments_has_none():
    parsed = parse_event(event("StasisStart", args=[], channel=channel("x-media", name="UnicastRTP/127.0.0.1:4000")))
    assert isinstance(parsed, StasisStart) and parsed.args == ()


def test_stasis_end():
    parsed = parse_event(event("StasisEnd", channel=channel()))
    assert isinstance(parsed, StasisEnd) and parsed.channel.id == "1712345678.42"


def test_channel_destroyed_carries_the_q850_cause():
    parsed = parse_event(event("ChannelDestroyed", cause=17, cause_txt="User busy", channel=channel(state="Busy")))
    assert isinstance(parsed, ChannelDestroyed)
    assert (parsed.cause, parsed.cause_txt, parsed.channel.state) == (17, "User busy", "Busy")


def test_hangup_requests_from_the_far_end_and_our_own_soft_ones():
    far = parse_event(event("ChannelHangupRequest", cause=16, channel=channel()))
    ours = parse_event(event("ChannelHangupRequest", cause=32, soft=True, channel=channel()))
    bare = parse_event(event("ChannelHangupRequest", channel=channel()))  # inside AMD(): neither cause nor soft
    assert isinstance(far, ChannelHangupRequest) and (far.cause, far.soft) == (16, False)
    assert isinstance(ours, ChannelHangupRequest) and (ours.cause, ours.soft) == (32, True)
    assert isinstance(bare, ChannelHangupRequest) and (bare.cause, bare.soft) == (None, False)


def test_dtmf_carries_the_digit():
    parsed = parse_event(event("ChannelDtmfReceived", digit="#", duration_ms=120, channel=channel()))
    assert isinstance(parsed, ChannelDtmfReceived) and (parsed.digit, parsed.duration_ms) == ("#", 120)


def test_state_change_carries_the_new_state_on_the_channel():
    parsed = parse_event(event("ChannelStateChange", channel=channel(state="Ringing")))
    assert isinstance(parsed, ChannelStateChange) and parsed.channel.state == "Ringing"


def test_dial_is_about_the_dialed_channel_aris_peer():
    progress = parse_event(event("Dial", peer=channel("attempt-chan", state="Down"), dialstring="+56912345678@trunk",
                                 dialstatus=""))
    answer = parse_event(event("Dial", peer=channel("attempt-chan", state="Up"), caller=channel("caller-chan"),
                               dialstring="+56912345678@trunk", dialstatus="ANSWER"))
    assert isinstance(progress, Dial) and progress.channel.id == "attempt-chan" and progress.dialstatus == ""
    assert progress.caller is None  # an originate has no calling channel
    assert isinstance(answer, Dial) and (answer.dialstatus, answer.peer.id) == ("ANSWER", "attempt-chan")
    assert answer.caller is not None and answer.caller.id == "caller-chan"


def test_application_replaced_is_read_as_such():
    # Another process took the Stasis app: the events stream stops on it (StasisAppTaken), not a call.
    parsed = parse_event(event("ApplicationReplaced"))
    assert isinstance(parsed, ApplicationReplaced) and parsed.application == "callcenter"


@pytest.mark.parametrize("kind", ["ChannelVarset", "ChannelDialplan", "ChannelEnteredBridge", "BridgeCreated",
                                  "SomethingAsterisk23Adds"])
def test_events_no_call_acts_on_are_ignored_not_dropped(kind):
    raw = event(kind, channel=channel(), variable="X", value="1")
    parsed = parse_event(raw)
    assert type(parsed) is IgnoredEvent and parsed.type == kind and parsed.raw is raw


@pytest.mark.parametrize("payload", [
    [],  # not an object
    "StasisStart",
    {"application": "callcenter"},  # no type
    {"type": 7},
    event("StasisStart", args=["inbound"]),  # no channel
    event("StasisStart", args=["inbound"], channel=None),
    event("StasisStart", args=["inbound"], channel={"name": "PJSIP/x"}),  # a channel without its id
    event("StasisStart", args="inbound,7001", channel=channel()),
    event("StasisStart", args=["inbound", 7001], channel=channel()),
    event("ChannelDestroyed", cause="busy", cause_txt="User busy", channel=channel()),
    event("ChannelDtmfReceived", duration_ms=100, channel=channel()),  # no digit
    event("Dial", dialstatus="ANSWER", channel=channel()),  # a Dial names the dialed channel `peer`
    event("StasisEnd", channel={"id": "x", "caller": "Ana"}),
])
def test_a_malformed_event_is_reported_as_such(payload):
    with pytest.raises(MalformedEvent):
        parse_event(payload)


class FakeWebSocket:
    def __init__(self, frames: list[str]) -> None:
        self._frames = frames

    async def __aiter__(self):
        for frame in self._frames:
            yield SimpleNamespace(type=aiohttp.WSMsgType.TEXT, data=frame)


async def test_the_stream_skips_what_it_cannot_read_and_delivers_the_rest_in_order(caplog):
    delivered: list[AriEvent] = []

    async def handler(parsed: AriEvent) -> None:
        delivered.append(parsed)
        if parsed.type == "StasisEnd":
            raise RuntimeError("a handler bug")  # must not stop the stream either

    stream = EventStream(None, "ws://ari", "user", "secret", "callcenter", handler)  # type: ignore[arg-type]
    frames = [
        "not json {",
        json.dumps([1, 2]),
        json.dumps(event("StasisStart", args=["inbound"])),
        json.dumps(event("ChannelVarset", variable="X", value="1", channel=channel())),
        json.dumps(event("StasisStart", args=["inbound", "7001"], channel=channel())),
        json.dumps(event("StasisEnd", channel=channel())),
        json.dumps(event("ChannelDestroyed", cause=16, cause_txt="Normal Clearing", channel=channel())),
    ]
    with caplog.at_level(logging.ERROR, logger="ari_app.ari.events"):
        await stream._pump(FakeWebSocket(frames))  # type: ignore[arg-type]
    assert [type(e) for e in delivered] == [IgnoredEvent, StasisStart, StasisEnd, ChannelDestroyed]
    assert sum("not a readable event" in r.getMessage() for r in caplog.records) == 3
    assert any("error handling ARI event StasisEnd" in r.getMessage() for r in caplog.records)


async def test_the_stream_stops_when_another_process_takes_the_app():
    delivered: list[AriEvent] = []

    async def handler(parsed: AriEvent) -> None:
        delivered.append(parsed)

    stream = EventStream(None, "ws://ari", "user", "secret", "callcenter", handler)  # type: ignore[arg-type]
    frames = [json.dumps(event("StasisStart", args=["inbound"], channel=channel())),
              json.dumps(event("ApplicationReplaced")),
              json.dumps(event("StasisEnd", channel=channel()))]
    # Not taken back on a reconnect: the newer process serves the app and its calls' events now.
    with pytest.raises(StasisAppTaken, match="taken by another process"):
        await stream._pump(FakeWebSocket(frames))  # type: ignore[arg-type]
    assert [type(e) for e in delivered] == [StasisStart]
