"""RTP (RFC 3550) packets and the outgoing header state of one stream.

Asterisk's ExternalMedia channel speaks plain RTP over UDP: we parse what it sends (tolerating
CSRC lists, header extensions and padding, which a carrier or a future Asterisk may add) and build
what we send back. Malformed datagrams raise :class:`RtpError` so a receiver can count and drop
them instead of crashing the call.
"""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass

__all__ = ["RtpError", "RtpPacket", "RtpStream"]

_HEADER = struct.Struct("!BBHII")
RTP_VERSION = 2


class RtpError(ValueError):
    """A datagram that is not a valid RTP packet (the message says why)."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet. ``csrcs`` and the header extension are kept so parse/build round-trips."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension_profile: int | None = None
    extension_data: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.payload_type <= 127:
            raise RtpError(f"payload type {self.payload_type} out of range 0..127")
        if not 0 <= self.sequence <= 0xFFFF:
            raise RtpError(f"sequence {self.sequence} out of range 0..65535")
        if not 0 <= self.timestamp <= 0xFFFFFFFF:
            raise RtpError(f"timestamp {self.timestamp} out of 32-bit range")
        if not 0 <= self.ssrc <= 0xFFFFFFFF:
            raise RtpError(f"ssrc {self.ssrc} out of 32-bit range")
        if len(self.csrcs) > 15:
            raise RtpError(f"at most 15 CSRCs fit in the header, got {len(self.csrcs)}")
        if self.extension_profile is not None and (
            not 0 <= self.extension_profile <= 0xFFFF or len(self.extension_data) % 4
        ):
            raise RtpError("header extension needs a 16-bit profile and data in whole 32-bit words")

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse one datagram; raises :class:`RtpError` with the reason when it is not RTP."""
        if len(data) < _HEADER.size:
            raise RtpError(f"packet too short: {len(data)} bytes, the RTP header needs 12")
        b0, b1, seq, ts, ssrc = _HEADER.unpack_from(data)
        version = b0 >> 6
        if version != RTP_VERSION:
            raise RtpError(f"unsupported RTP version {version} (expected 2)")
        has_padding, has_extension, cc = bool(b0 & 0x20), bool(b0 & 0x10), b0 & 0x0F
        offset = _HEADER.size + 4 * cc
        if len(data) < offset:
            raise RtpError(f"packet too short for its {cc} CSRCs: {len(data)} < {offset} bytes")
        csrcs = struct.unpack_from(f"!{cc}I", data, _HEADER.size) if cc else ()
        profile: int | None = None
        ext = b""
        if has_extension:
            if len(data) < offset + 4:
                raise RtpError("packet too short for its header extension header")
            profile, words = struct.unpack_from("!HH", data, offset)
            end = offset + 4 + 4 * words
            if len(data) < end:
                raise RtpError(f"header extension of {words} words runs past the end of the packet")
            ext = bytes(data[offset + 4 : end])
            offset = end
        end = len(data)
        if has_padding:
            pad = data[-1]
            if pad == 0 or pad > end - offset:
                raise RtpError(f"invalid padding length {pad} for {end - offset} bytes after the header")
            end -= pad
        return cls(
            payload_type=b1 & 0x7F,
            sequence=seq,
            timestamp=ts,
            ssrc=ssrc,
            payload=bytes(data[offset:end]),
            marker=bool(b1 & 0x80),
            csrcs=tuple(csrcs),
            extension_profile=profile,
            extension_data=ext,
        )

    def to_bytes(self) -> bytes:
        """Serialise (never padded: we send whole codec frames, so padding is never needed)."""
        has_ext = self.extension_profile is not None
        b0 = (RTP_VERSION << 6) | (0x10 if has_ext else 0) | len(self.csrcs)
        b1 = (0x80 if self.marker else 0) | self.payload_type
        parts = [_HEADER.pack(b0, b1, self.sequence, self.timestamp, self.ssrc)]
        if self.csrcs:
            parts.append(struct.pack(f"!{len(self.csrcs)}I", *self.csrcs))
        if has_ext:
            parts.append(struct.pack("!HH", self.extension_profile, len(self.extension_data) // 4))
            parts.append(self.extension_data)
        parts.append(self.payload)
        return b"".join(parts)


class RtpStream:
    """Header state for the packets we send on one RTP session.

    RFC 3550 5.1 asks for random initial sequence number and timestamp (and a random SSRC) so that
    a restarted sender is not confused with the previous one and known-plaintext is harder. The
    timestamp is a media clock: it advances by the samples *covered*, also across silence that is
    not sent (:meth:`skip`), so the receiver's jitter buffer sees one continuous clock.
    """

    def __init__(
        self,
        payload_type: int,
        clock_rate: int,
        ssrc: int | None = None,
        *,
        initial_sequence: int | None = None,
        initial_timestamp: int | None = None,
    ) -> None:
        if not 0 <= payload_type <= 127:
            raise ValueError(f"payload type {payload_type} out of range 0..127")
        if clock_rate <= 0:
            raise ValueError(f"clock rate must be positive, got {clock_rate}")
        self.payload_type = payload_type
        self.clock_rate = clock_rate
        self.ssrc = secrets.randbits(32) if ssrc is None else ssrc & 0xFFFFFFFF
        seq = secrets.randbits(16) if initial_sequence is None else initial_sequence
        ts = secrets.randbits(32) if initial_timestamp is None else initial_timestamp
        self._sequence = seq & 0xFFFF
        self._timestamp = ts & 0xFFFFFFFF

    @property
    def sequence(self) -> int:
        """Sequence number the next packet will carry."""
        return self._sequence

    @property
    def timestamp(self) -> int:
        """Timestamp the next packet will carry."""
        return self._timestamp

    def packet(self, payload: bytes, samples: int, marker: bool = False) -> bytes:
        """Build the next packet for ``payload`` (covering ``samples``) and advance the state."""
        data = _HEADER.pack(
            RTP_VERSION << 6,
            (0x80 if marker else 0) | self.payload_type,
            self._sequence,
            self._timestamp,
            self.ssrc,
        )
        self._sequence = (self._sequence + 1) & 0xFFFF
        self._timestamp = (self._timestamp + samples) & 0xFFFFFFFF
        return data + payload

    def skip(self, samples: int) -> None:
        """Advance the media clock without sending (time passed with nothing to say)."""
        if samples < 0:
            raise ValueError(f"cannot skip a negative number of samples ({samples})")
        self._timestamp = (self._timestamp + samples) & 0xFFFFFFFF
