"""The receive jitter buffer: order restored, losses concealed, no delay on a clean stream."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from media.g711 import CODECS
from media.jitter import JitterBuffer
from media.rtp import RtpStream
from media.rtp_session import RtpSession


def _frame(value: int) -> np.ndarray:
    return np.full(160, value, dtype=np.int16)


def _push(buf: JitterBuffer, seq: int, now: float, ssrc: int = 7) -> list:
    return buf.push(seq & 0xFFFF, ssrc, _frame(1000 + (seq & 0xFFFF) % 1000), now)


def test_in_order_packets_pass_straight_through() -> None:
    buf = JitterBuffer()
    for n in range(50):
        out = _push(buf, n, n * 0.02)
        assert [f.sequence for f in out] == [n]
    assert buf.held == 0 and buf.deadline is None
    assert buf.stats.as_dict() == {"reordered": 0, "late": 0, "duplicates": 0, "concealed": 0, "resyncs": 0}


def test_a_swapped_pair_is_put_back_in_order() -> None:
    buf = JitterBuffer()
    got = []
    for seq in (0, 1, 3, 2, 4, 6, 5, 7):
        got += [f.sequence for f in _push(buf, seq, 0.0)]
    assert got == list(range(8))
    assert buf.stats.reordered == 2 and buf.stats.concealed == 0


def test_a_lost_packet_is_concealed_after_max_wait_with_a_fading_copy() -> None:
    buf = JitterBuffer(max_wait_s=0.06)
    _push(buf, 0, 0.00)
    _push(buf, 1, 0.02)
    assert _push(buf, 3, 0.06) == []  # 2 is missing: hold 3
    assert buf.deadline == pytest.approx(0.12)
    assert buf.poll(0.10) == []
    out = buf.poll(0.12)
    assert [(f.sequence, f.concealed) for f in out] == [(2, True), (3, False)]
    assert int(out[0].pcm[0]) == (1000 + 1) // 2  # last good frame at half level
    assert buf.stats.concealed == 1
    assert _push(buf, 2, 0.13) == [] and buf.stats.late == 1  # too late: its slot was filled


def test_a_long_loss_fades_to_silence() -> None:
    buf = JitterBuffer(max_depth=10, conceal_frames=2)
    _push(buf, 0, 0.0)
    _push(buf, 6, 0.0)
    out = buf.poll(1.0)
    levels = [int(f.pcm[0]) for f in out]
    assert [f.sequence for f in out] == [1, 2, 3, 4, 5, 6]
    assert levels == [500, 250, 0, 0, 0, 1006]


def test_depth_limit_releases_without_waiting_for_the_timer() -> None:
    buf = JitterBuffer(max_wait_s=10, max_depth=3)
    _push(buf, 0, 0.0)
    assert _push(buf, 2, 0.0) == [] and _push(buf, 3, 0.0) == [] and _push(buf, 4, 0.0) == []
    out = _push(buf, 5, 0.0)
    assert [f.sequence for f in out] == [1, 2, 3, 4, 5] and out[0].concealed


def test_duplicates_are_dropped() -> None:
    buf = JitterBuffer()
    _push(buf, 0, 0.0)
    assert _push(buf, 0, 0.0) == []  # behind: already delivered
    _push(buf, 2, 0.0)
    assert _push(buf, 2, 0.0) == []  # already held
    assert buf.stats.late == 1 and buf.stats.duplicates == 1


def test_sequence_wrap_around_is_in_order() -> None:
    buf = JitterBuffer()
    got = []
    for seq in (65533, 65534, 0, 65535, 1):
        got += [f.sequence for f in _push(buf, seq, 0.0)]
    assert got == [65533, 65534, 65535, 0, 1]
    assert buf.stats.concealed == 0


def test_a_new_ssrc_or_a_big_jump_is_a_new_stream_not_a_loss() -> None:
    buf = JitterBuffer()
    _push(buf, 100, 0.0)
    assert [f.sequence for f in _push(buf, 5000, 0.02)] == [5000]
    assert [f.sequence for f in buf.push(9, 8, _frame(1), 0.04)] == [9]
    assert buf.stats.resyncs == 2 and buf.stats.concealed == 0


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_depth"):
        JitterBuffer(max_depth=0)


async def test_rtp_session_delivers_reordered_and_lost_packets_in_order_over_udp() -> None:
    """A real socket: packets sent out of order with one lost come out as an unbroken stream."""
    codec = CODECS["ulaw"]
    got: list[np.ndarray] = []
    session = await RtpSession.bind("127.0.0.1", (41000, 41999), codec, got.append)
    loop = asyncio.get_running_loop()
    sender, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, remote_addr=session.local_address)
    try:
        stream = RtpStream(codec.payload_type, 8000)
        packets = [stream.packet(codec.encode(_frame(2000 * (n + 1))), 160) for n in range(6)]
        for n in (0, 2, 1, 4, 5):  # 1 and 2 swapped, 3 lost
            sender.sendto(packets[n])
            await asyncio.sleep(0.005)
        await asyncio.sleep(session.jitter.max_wait_s + 0.05)
    finally:
        sender.close()
        await session.close()
    levels = [float(pcm.mean()) for pcm in got]  # G.711 quantises: compare within 3 %
    assert levels == pytest.approx([2000, 4000, 6000, 3000, 10000, 12000], rel=0.03)  # 4th: 3rd at half level
    stats = session.stats.as_dict()
    assert stats["reordered"] == 1 and stats["concealed"] == 1 and stats["packets"] == 5


async def test_audio_from_anywhere_but_the_announced_source_is_ignored() -> None:
    """Asterisk says where the call's RTP comes from; a packet from another socket (another host sending
    first) is dropped, never adopted as the call's far end."""
    codec = CODECS["ulaw"]
    got: list[np.ndarray] = []
    session = await RtpSession.bind("127.0.0.1", (42000, 42999), codec, got.append)
    loop = asyncio.get_running_loop()
    asterisk, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, remote_addr=session.local_address)
    intruder, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, remote_addr=session.local_address)
    session.set_remote(asterisk.get_extra_info("sockname")[:2], only_source=True)
    try:
        stream = RtpStream(codec.payload_type, 8000)
        intruder.sendto(stream.packet(codec.encode(_frame(9000)), 160))  # first, and from elsewhere
        await asyncio.sleep(0.02)
        for n in range(3):
            asterisk.sendto(stream.packet(codec.encode(_frame(2000)), 160))
            await asyncio.sleep(0.005)
        await asyncio.sleep(session.jitter.max_wait_s + 0.05)
    finally:
        asterisk.close()
        intruder.close()
        await session.close()
    assert session.remote == asterisk.get_extra_info("sockname")[:2]
    assert session.stats.as_dict()["packets"] == 3 and session.stats.foreign == 1
    assert all(float(pcm.mean()) == pytest.approx(2000, rel=0.03) for pcm in got)
