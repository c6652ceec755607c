"""RTP parse/build (RFC 3550) and outgoing stream state."""

from __future__ import annotations

import struct

import pytest

from media.rtp import RtpError, RtpPacket, RtpStream


def test_round_trip_and_exact_header_bytes() -> None:
    p = RtpPacket(
        payload_type=0, sequence=1234, timestamp=5678, ssrc=0xDEADBEEF, payload=b"\xff" * 160, marker=True
    )
    data = p.to_bytes()
    assert data[:12] == bytes.fromhex("808004d20000162edeadbeef")
    assert len(data) == 172
    assert RtpPacket.parse(data) == p


def test_round_trip_with_csrcs_and_extension() -> None:
    p = RtpPacket(
        96,
        65535,
        0xFFFFFFFF,
        7,
        b"abc",
        csrcs=(1, 2, 0xFFFFFFFF),
        extension_profile=0xBEDE,
        extension_data=b"\x10\x01\x00\x00\x22\x33\x44\x55",
    )
    data = p.to_bytes()
    assert data[0] == 0x80 | 0x10 | 3  # version 2, X bit, CC=3
    assert len(data) == 12 + 12 + 4 + 8 + 3
    parsed = RtpPacket.parse(data)
    assert parsed == p
    assert parsed.payload == b"abc"


def test_padding_is_stripped() -> None:
    header = struct.pack("!BBHII", 0x80 | 0x20, 8, 1, 2, 3)
    parsed = RtpPacket.parse(header + b"hello" + b"\x00\x00\x03")
    assert parsed.payload == b"hello"
    assert parsed.payload_type == 8
    assert not parsed.marker


def test_padding_with_csrc_and_extension_together() -> None:
    header = struct.pack("!BBHIII", 0x80 | 0x20 | 0x10 | 1, 0x80 | 0, 9, 10, 11, 99)
    ext = struct.pack("!HH", 0x1000, 1) + b"wxyz"
    parsed = RtpPacket.parse(header + ext + b"\x01\x02" + b"\x00\x02")
    assert parsed.csrcs == (99,)
    assert parsed.extension_profile == 0x1000 and parsed.extension_data == b"wxyz"
    assert parsed.payload == b"\x01\x02"
    assert parsed.marker


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x80\x00\x00", "too short"),
        (b"", "too short"),
        (struct.pack("!BBHII", 0x40, 0, 1, 2, 3) + b"x", "version 1"),
        (struct.pack("!BBHII", 0x00, 0, 1, 2, 3), "version 0"),
        (struct.pack("!BBHII", 0x80 | 4, 0, 1, 2, 3) + b"\x00" * 8, "CSRC"),
        (struct.pack("!BBHII", 0x90, 0, 1, 2, 3) + b"\x00\x00", "extension"),
        (struct.pack("!BBHII", 0x90, 0, 1, 2, 3) + struct.pack("!HH", 1, 5) + b"\x00" * 4, "extension"),
        (struct.pack("!BBHII", 0xA0, 0, 1, 2, 3) + b"ab\x00", "padding"),
        (struct.pack("!BBHII", 0xA0, 0, 1, 2, 3) + b"ab\x09", "padding"),
    ],
)
def test_malformed_packets_raise_with_reason(data: bytes, reason: str) -> None:
    with pytest.raises(RtpError, match=reason.split()[0]):
        RtpPacket.parse(data)


def test_rtp_error_is_a_value_error_and_fields_are_validated() -> None:
    assert issubclass(RtpError, ValueError)
    with pytest.raises(RtpError):
        RtpPacket(128, 0, 0, 0, b"")
    with pytest.raises(RtpError):
        RtpPacket(0, 65536, 0, 0, b"")
    with pytest.raises(RtpError):
        RtpPacket(0, 0, 2**32, 0, b"")


def test_stream_sequence_and_timestamp_wrap_around() -> None:
    s = RtpStream(0, 8000, ssrc=42, initial_sequence=65534, initial_timestamp=2**32 - 200)
    packets = [RtpPacket.parse(s.packet(b"\xff" * 160, 160, marker=(i == 0))) for i in range(4)]
    assert [p.sequence for p in packets] == [65534, 65535, 0, 1]
    assert [p.timestamp for p in packets] == [2**32 - 200, 2**32 - 40, 120, 280]
    assert [p.marker for p in packets] == [True, False, False, False]
    assert {p.ssrc for p in packets} == {42}
    assert {p.payload_type for p in packets} == {0}


def test_stream_skip_advances_clock_only() -> None:
    s = RtpStream(8, 8000, ssrc=1, initial_sequence=10, initial_timestamp=1000)
    s.packet(b"\xd5" * 160, 160)
    s.skip(160 * 5)
    p = RtpPacket.parse(s.packet(b"\xd5" * 160, 160))
    assert p.sequence == 11
    assert p.timestamp == 1000 + 160 * 6
    s2 = RtpStream(8, 8000, initial_timestamp=2**32 - 1)
    s2.skip(2)
    assert s2.timestamp == 1


def test_stream_initial_state_is_random() -> None:
    streams = [RtpStream(0, 8000) for _ in range(6)]
    assert len({s.ssrc for s in streams}) > 1
    assert len({s.sequence for s in streams}) > 1
    assert len({s.timestamp for s in streams}) > 1
    assert all(0 <= s.sequence < 2**16 and 0 <= s.timestamp < 2**32 for s in streams)
