"""The reactive test phone's SIP and RTP parts, against a hand-built Asterisk on local UDP sockets:
the INVITE answered (100, 180, 200 with SDP, resent until the ACK), RTP paced at 20 ms, a line said
only once the agent's turn is over, keys as RFC 4733 events, its own BYE, and the timeouts."""

from __future__ import annotations

import asyncio
import re
import struct
from typing import Self

import numpy as np
import pytest

from media.audio import AudioClip
from media.g711 import SILENCE_ULAW_FRAME, ulaw_decode, ulaw_encode
from media.rtp import RtpPacket
from media.vad import rms_dbfs
from tests.phones.reactive import Line, ReactivePhone, ReactivePhoneError

RATE = 8000


def tone(seconds: float, hz: float = 440.0, level: float = 0.3) -> AudioClip:
    t = np.arange(int(seconds * RATE)) / RATE
    return AudioClip((level * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16), RATE)


class _Sock(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bytes, tuple[str, int], float]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.queue.put_nowait((data, addr, asyncio.get_running_loop().time()))


class FakeAsterisk:
    """A SIP UAC and an RTP 'agent': it greets (tone), then answers each line heard `reply_after_s`
    after the line's last voiced frame arrived."""

    def __init__(self, greeting_s: float = 0.6, reply_after_s: float = 0.25, reply_s: float = 0.4) -> None:
        self.greeting_s, self.reply_after_s, self.reply_s = greeting_s, reply_after_s, reply_s
        self.received: list[tuple[RtpPacket, float]] = []
        self.sent_voiced: list[float] = []  # send times of voiced frames

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        self.sip_t, self.sip = await loop.create_datagram_endpoint(_Sock, local_addr=("127.0.0.1", 0))
        self.rtp_t, self.rtp = await loop.create_datagram_endpoint(_Sock, local_addr=("127.0.0.1", 0))
        self.sip_port = self.sip_t.get_extra_info("sockname")[1]
        self.rtp_port = self.rtp_t.get_extra_info("sockname")[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.sip_t.close()
        self.rtp_t.close()

    def invite(self, phone_port: int) -> str:
        sdp = (f"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=Asterisk\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
               f"m=audio {self.rtp_port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
               f"a=rtpmap:101 telephone-event/8000\r\n")
        self.call_id = "abc123@127.0.0.1"
        self.from_ = "<sip:asterisk@127.0.0.1>;tag=as-tag"
        return (f"INVITE sip:5551234@127.0.0.1:{phone_port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{self.sip_port};rport;branch=z9hG4bKinv1\r\n"
                f"From: {self.from_}\r\nTo: <sip:5551234@127.0.0.1>\r\nContact: <sip:asterisk@127.0.0.1:{self.sip_port}>\r\n"
                f"Call-ID: {self.call_id}\r\nCSeq: 100 INVITE\r\nMax-Forwards: 70\r\n"
                f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}")

    def send_sip(self, text: str, port: int) -> None:
        self.sip_t.sendto(text.encode(), ("127.0.0.1", port))

    async def sip_message(self, timeout_s: float = 2.0) -> tuple[str, float]:
        data, _, at = await asyncio.wait_for(self.sip.queue.get(), timeout_s)
        return data.decode(), at

    async def agent(self, phone_rtp: tuple[str, int], stop: asyncio.Event) -> None:
        """20 ms frames: the greeting, then a reply after each line (from energy in what it hears)."""
        loop = asyncio.get_running_loop()
        t0, n, seq = loop.time(), 0, 1
        speak_until = t0 + self.greeting_s
        last_voiced_heard, replied_to = None, None
        clip = ulaw_encode(tone(0.02, 300).pcm)
        while not stop.is_set():
            await asyncio.sleep(max(0.0, t0 + n * 0.02 - loop.time()))
            now = loop.time()
            while not self.rtp.queue.empty():
                data, _, at = self.rtp.queue.get_nowait()
                packet = RtpPacket.parse(data)
                self.received.append((packet, at))
                if packet.payload_type == 101 or rms_dbfs(ulaw_decode(packet.payload)) > -38:
                    last_voiced_heard = at  # words, or keys
            if (last_voiced_heard is not None and last_voiced_heard != replied_to
                    and now - last_voiced_heard >= self.reply_after_s):
                replied_to, speak_until = last_voiced_heard, now + self.reply_s
            voiced = now < speak_until
            payload = clip if voiced else SILENCE_ULAW_FRAME
            if voiced:
                self.sent_voiced.append(now)
            self.rtp_t.sendto(RtpPacket(0, seq, n * 160, 1234, payload).to_bytes(), phone_rtp)
            n, seq = n + 1, seq + 1


def sdp_port(message: str) -> int:
    return int(re.search(r"^m=audio (\d+) RTP/AVP 0 101", message, re.MULTILINE).group(1))


async def test_it_answers_an_invite_speaks_after_the_agents_turn_and_hangs_up(tmp_path):
    script = [tone(0.5, 700), Line(dtmf="1#", label="keys")]
    async with FakeAsterisk() as pbx, ReactivePhone(script, workdir=tmp_path, quiet_s=0.3,
                                                    quiet_timeout_s=3) as phone:
        pbx.send_sip(pbx.invite(phone.port), phone.port)
        replies = [await pbx.sip_message() for _ in range(3)]
        assert [m.split("\r\n", 1)[0] for m, _ in replies] == ["SIP/2.0 100 Trying", "SIP/2.0 180 Ringing",
                                                                "SIP/2.0 200 OK"]
        # Without an ACK the 200 comes again, 0.5 s later, with the same To tag and SDP.
        again, at = await pbx.sip_message(timeout_s=1.0)
        assert 0.45 <= at - replies[2][1] <= 0.6
        assert re.search(r"^To: .*$", again, re.MULTILINE).group(0) == re.search(r"^To: .*$", replies[2][0],
                                                                                  re.MULTILINE).group(0)
        assert again.startswith("SIP/2.0 200 OK") and "a=rtpmap:101 telephone-event/8000" in again
        to = re.search(r"^To: (.*)$", again, re.MULTILINE).group(1).strip()
        assert ";tag=" in to and f"m=audio {phone.rtp_port} RTP/AVP 0 101" in again
        pbx.send_sip(f"ACK sip:5551234@127.0.0.1:{phone.port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{pbx.sip_port};"
                     f"branch=z9hG4bKack\r\nFrom: {pbx.from_}\r\nTo: {to}\r\nCall-ID: {pbx.call_id}\r\n"
                     f"CSeq: 100 ACK\r\nContent-Length: 0\r\n\r\n", phone.port)
        stop = asyncio.Event()
        agent = asyncio.create_task(pbx.agent(("127.0.0.1", sdp_port(again)), stop))
        await phone.wait_answered(timeout_s=2)
        # OPTIONS mid-call: 200.
        pbx.send_sip(f"OPTIONS sip:5551234@127.0.0.1:{phone.port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:"
                     f"{pbx.sip_port};branch=z9hG4bKopt\r\nFrom: {pbx.from_}\r\nTo: <sip:5551234@127.0.0.1>\r\n"
                     f"Call-ID: opt@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", phone.port)
        assert (await pbx.sip_message())[0].startswith("SIP/2.0 200 OK")
        # The phone hangs up once the agent's answer to its last line is over: its BYE, From/To swapped.
        bye, _ = await pbx.sip_message(timeout_s=10)
        assert bye.startswith(f"BYE sip:asterisk@127.0.0.1:{pbx.sip_port} SIP/2.0"), bye
        assert re.search(r"^From: (.*)$", bye, re.MULTILINE).group(1).strip() == to
        assert re.search(r"^To: (.*)$", bye, re.MULTILINE).group(1).strip() == pbx.from_
        via = re.search(r"^Via: (.*)$", bye, re.MULTILINE).group(1).strip()
        pbx.send_sip(f"SIP/2.0 200 OK\r\nVia: {via}\r\nFrom: {to}\r\nTo: {pbx.from_}\r\nCall-ID: {pbx.call_id}\r\n"
                     f"CSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n", phone.port)
        await phone.wait_done(timeout_s=5)
        await asyncio.sleep(0.1)
        stop.set()
        await agent
    assert phone.hung_up_by == "phone"
    # RTP: PCMU, 20 ms apart on an absolute clock, silence as 0xFF.
    audio = [(p, at) for p, at in pbx.received if p.payload_type == 0]
    assert len(audio) > 50 and all(len(p.payload) == 160 for p, _ in audio)
    # Each frame's lateness against the absolute clock (its RTP timestamp says which 20 ms slot it is):
    # a stall of the loop (2 busy cores) delays a few frames, which then go at once; none drifts.
    slots = np.array([(p.timestamp - audio[0][0].timestamp) % 2**32 / 160 for p, _ in audio])
    late_ms = (np.array([at for _, at in audio]) - audio[0][1] - slots * 0.02) * 1000
    late_ms -= np.median(late_ms)
    assert np.percentile(np.abs(late_ms), 90) < 10 and abs(np.median(late_ms[-20:])) < 5, late_ms
    assert audio[0][0].payload == SILENCE_ULAW_FRAME
    assert [p.sequence for p, _ in pbx.received] == list(range(pbx.received[0][0].sequence,
                                                               pbx.received[0][0].sequence + len(pbx.received)))
    # Line 1, the tone: after the greeting and 0.3 s of quiet; the agent answered 0.25 s after it.
    first, keys = phone.turns
    greeting_end = pbx.sent_voiced[0] + pbx.greeting_s
    assert first.agent_turn_end is not None and 0.28 <= first.waited_s <= 0.45, first
    assert first.started_at >= greeting_end + 0.25 and first.overlap_frames == 0, first
    assert 0.2 <= first.voice_to_voice_s <= 0.4, first
    voiced = [at for p, at in audio if rms_dbfs(ulaw_decode(p.payload)) > -38]
    assert 0.45 <= voiced[-1] - voiced[0] <= 0.55  # the whole tone, 0.5 s of it
    # Line 2, the keys: RFC 4733 events for "1" then "#", each ending with its end packet three times.
    events = [struct.unpack("!BBH", p.payload) for p, _ in pbx.received if p.payload_type == 101]
    assert [e for e, flags, _ in events if flags & 0x80] == [1, 1, 1, 11, 11, 11]
    starts = [p for p, _ in pbx.received if p.payload_type == 101 and p.marker]
    assert len(starts) == 2 and keys.voice_to_voice_s is not None and keys.overlap_frames == 0
    # What it heard is on file, on its clock: the greeting first.
    assert phone.heard_wav.exists() and phone.sent_wav.exists()


async def test_a_call_that_never_comes_is_a_clear_error_not_a_hang(tmp_path):
    async with ReactivePhone([tone(0.2)], workdir=tmp_path) as phone:
        with pytest.raises(ReactivePhoneError, match=rf"no INVITE on 127.0.0.1:{phone.port} within 0.3 s"):
            await phone.wait_answered(timeout_s=0.3)


async def test_a_call_without_rtp_is_reported_as_silent(tmp_path):
    async with FakeAsterisk() as pbx, ReactivePhone([tone(0.2)], workdir=tmp_path, rtp_timeout_s=0.4) as phone:
        await answered(pbx, phone)
        with pytest.raises(ReactivePhoneError, match="no RTP from Asterisk within 0.4 s"):
            await phone.wait_answered(timeout_s=1)
    # Leaving the block hung up (BYE to the Contact) and closed the sockets.
    messages = []
    while not pbx.sip.queue.empty():
        messages.append(pbx.sip.queue.get_nowait()[0].decode())
    assert any(m.startswith("BYE ") for m in messages)
    assert phone._sip is None and phone._rtp is None


async def answered(pbx: FakeAsterisk, phone: ReactivePhone) -> tuple[str, int]:
    """INVITE, the three replies, ACK: the To header the phone gave and its RTP port."""
    pbx.send_sip(pbx.invite(phone.port), phone.port)
    for _ in range(3):
        ok, _ = await pbx.sip_message()
    to = re.search(r"^To: (.*)$", ok, re.MULTILINE).group(1).strip()
    pbx.send_sip(f"ACK sip:5551234@127.0.0.1:{phone.port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{pbx.sip_port};"
                 f"branch=z9hG4bKack\r\nFrom: {pbx.from_}\r\nTo: {to}\r\nCall-ID: {pbx.call_id}\r\n"
                 f"CSeq: 100 ACK\r\nContent-Length: 0\r\n\r\n", phone.port)
    return to, sdp_port(ok)


async def test_a_line_set_to_barge_in_cuts_the_agent_off_after_its_delay(tmp_path):
    async with FakeAsterisk(greeting_s=1.5) as pbx, ReactivePhone(
            [tone(0.3, 700)], workdir=tmp_path, barge_in_after_ms=300, quiet_s=0.3, quiet_timeout_s=2) as phone:
        _, rtp_port = await answered(pbx, phone)
        stop = asyncio.Event()
        agent = asyncio.create_task(pbx.agent(("127.0.0.1", rtp_port), stop))
        await phone.wait_done(timeout_s=8)
        stop.set()
        await agent
    (turn,) = phone.turns
    onset = phone.agent_onsets[0]
    assert turn.barge_in and turn.agent_turn_end is None and 0.28 <= turn.started_at - onset <= 0.36, turn
    assert turn.overlap_frames >= 10  # the agent went on talking under the line (this agent cannot be cut off)


async def test_an_agent_that_says_nothing_is_hung_up_on_after_the_quiet_timeout(tmp_path):
    async with FakeAsterisk(greeting_s=0.0) as pbx, ReactivePhone(
            [tone(0.3)], workdir=tmp_path, quiet_timeout_s=0.5) as phone:
        _, rtp_port = await answered(pbx, phone)
        stop = asyncio.Event()
        agent = asyncio.create_task(pbx.agent(("127.0.0.1", rtp_port), stop))
        await phone.wait_done(timeout_s=3)
        stop.set()
        await agent
    assert phone.turns == [] and phone.hung_up_by == "phone"
