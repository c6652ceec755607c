"""ARI's data models as this app reads them: the Channel object, and the events a call acts on.

Each WebSocket message is parsed once, by `parse_event`, where the event stream hands it out;
everything downstream reasons with these frozen dataclasses, never with the JSON. Class and field
names are ARI's own (rest-api/api-docs/events.json and channels.json in Asterisk), so a reader can
hold them against the ARI reference. The liberties: `Dial.channel` is ARI's `peer` (so every event
about a channel routes the same way), and `Channel` flattens the two nested fields the app reads.

A message of a type the app has no model for becomes an `IgnoredEvent`; one whose payload does not
fit its model raises `MalformedEvent`, and the stream logs it and goes on to the next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self


class MalformedEvent(ValueError):
    """A WebSocket message that is not an ARI event this app can read."""


@dataclass(frozen=True, slots=True)
class Channel:
    """The fields of an ARI Channel object that the app reasons with."""

    id: str
    name: str
    state: str
    caller_number: str = ""  # ARI's caller.number
    dialplan_exten: str = ""  # ARI's dialplan.exten
    channelvars: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Channel:
        return cls(
            id=data["id"],
            name=data.get("name", ""),
            state=data.get("state", ""),
            caller_number=(data.get("caller") or {}).get("number", ""),
            dialplan_exten=(data.get("dialplan") or {}).get("exten", ""),
            channelvars=dict(data.get("channelvars") or {}),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AriEvent:
    """What every ARI event carries (ARI's Message and Event), and the payload as it arrived."""

    type: str
    application: str = ""
    timestamp: str = ""
    # The JSON object as Asterisk sent it: for logs and diagnostics, not for reading fields again.
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return cls(type=data["type"], application=str(data.get("application", "")),
                   timestamp=str(data.get("timestamp", "")), raw=data, **cls._fields(data))

    @classmethod
    def _fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """The fields of this kind of event beyond the common ones."""
        return {}


@dataclass(frozen=True, slots=True, kw_only=True)
class IgnoredEvent(AriEvent):
    """An event of a type no call acts on (ChannelVarset, ChannelDialplan, bridge events, ...)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelEvent(AriEvent):
    """An event about one channel: the router hands it to the call that owns that channel."""

    channel: Channel
    channel_key: ClassVar[str] = "channel"  # where the JSON holds the channel the event is about

    @classmethod
    def _fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"channel": Channel.from_json(data[cls.channel_key]), **cls._own_fields(data)}

    @classmethod
    def _own_fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {}


@dataclass(frozen=True, slots=True, kw_only=True)
class StasisStart(ChannelEvent):
    """The channel entered our Stasis application, with the arguments the dialplan or originate gave."""

    args: tuple[str, ...] = ()

    @classmethod
    def _own_fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        args = data.get("args") or []
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise TypeError(f"args is not a list of strings: {args!r}")
        return {"args": tuple(args)}


@dataclass(frozen=True, slots=True, kw_only=True)
class StasisEnd(ChannelEvent):
    """The channel left our Stasis application (hung up, or continued in the dialplan)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelDestroyed(ChannelEvent):
    """The channel is gone, with the Q.850 cause of its hang-up."""

    # ARI marks both required; read leniently all the same, because dropping a ChannelDestroyed as
    # malformed would leave its call waiting for an end that never comes.
    cause: int | None = None
    cause_txt: str | None = None

    @classmethod
    def _own_fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"cause": _cause(data), "cause_txt": data.get("cause_txt")}


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelHangupRequest(ChannelEvent):
    """A hang-up was requested on the channel: by the far end, or (soft) by our own DELETE."""

    cause: int | None = None
    soft: bool = False

    @classmethod
    def _own_fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"cause": _cause(data), "soft": bool(data.get("soft", False))}


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelDtmfReceived(ChannelEvent):
    """A key the caller pressed (sent when the tone ends)."""

    digit: str
    duration_ms: int = 0

    @classmethod
    def _own_fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        digit = data["digit"]
        if not isinstance(digit, str):
            raise TypeError(f"digit is not a string: {digit!r}")
        return {"digit": digit, "duration_ms": int(data.get("duration_ms") or 0)}


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelStateChange(ChannelEvent):
    """The channel's state changed (Ring, Ringing, Up, ...): `channel.state` is the new one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Dial(ChannelEvent):
    """Progress of a dial. `channel` is ARI's `peer`, the channel dialed (an originate's own channel);
    `caller` is absent on an originate. `dialstatus` is empty until the dial has an answer."""

    channel_key: ClassVar[str] = "peer"
    caller: Channel | None = None
    dialstatus: str = ""
    dialstring: str = ""
    forward: str = ""

    @property
    def peer(self) -> Channel:
        return self.channel

    @classmethod
    def _own_fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        caller = data.get("caller")
        return {"caller": Channel.from_json(caller) if caller else None,
                "dialstatus": str(data.get("dialstatus") or ""), "dialstring": str(data.get("dialstring") or ""),
                "forward": str(data.get("forward") or "")}


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationReplaced(AriEvent):
    """Another WebSocket registered this Stasis app: its events (and its calls' events) now go there."""


EVENT_TYPES: Mapping[str, type[AriEvent]] = {kind.__name__: kind for kind in (
    StasisStart, StasisEnd, ChannelDestroyed, ChannelHangupRequest, ChannelDtmfReceived, ChannelStateChange, Dial,
    ApplicationReplaced,
)}


def parse_event(data: Any) -> AriEvent:
    """The typed event for one decoded WebSocket message; raises `MalformedEvent` when it cannot be one."""
    if not isinstance(data, Mapping) or not isinstance(data.get("type"), str):
        raise MalformedEvent("not an ARI message (a JSON object with a 'type')")
    kind = EVENT_TYPES.get(data["type"], IgnoredEvent)
    try:
        return kind.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MalformedEvent(f"{data['type']}: {type(exc).__name__}: {exc}") from exc


def _cause(data: Mapping[str, Any]) -> int | None:
    cause = data.get("cause")
    return None if cause is None else int(cause)

