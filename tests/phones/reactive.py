"""`ReactivePhone`: a SIP phone on asyncio that answers Asterisk's call and speaks each line of its
script only once the agent's turn is over, timing voice-to-voice on its own line.

baresip plays one fixed WAV, so its scripts break as soon as an agent prompt changes length. This
phone listens instead: the agent's speech is found by energy (frames at or above -38 dBFS, two in a
row) and its turn is over after `quiet_s` (1.0 s) of quiet; then the next line is spoken. Every
frame it sends and receives is timed on one clock (the event loop's), so per line it knows the end
of its own last voiced frame and the first voiced frame of the answer (`phone.turns`).

    script = [make_spanish_wav("Correcto, soy yo.", tmp / "a.wav", wpm=130), "1"]  # a WAV, then key 1
    async with ReactivePhone(script, workdir=tmp) as phone:
        ...dial PJSIP/5551234@trunk/sip:127.0.0.1:{phone.port} through ARI...
        await phone.wait_answered(timeout_s=30)
        await phone.wait_done(timeout_s=120)
    [t.voice_to_voice_s for t in phone.turns], phone.heard_wav

SIP, as little as Asterisk's trunk needs (measured, /work/shared/LAB.md): 100, 180 and 200 with SDP
(PCMU + telephone-event) to the INVITE, the 200 resent every 0.5 s until the ACK; 200 to BYE and
OPTIONS; its own BYE to the INVITE's Contact, From/To swapped. RTP: one 20 ms PCMU frame every 20 ms
on an absolute clock (silence 0xFF), keys as RFC 4733 events. Sockets bind 127.0.0.1 only.
"""
# Size: one phone (SIP dialog, RTP clock, turn detector, script); the parts share its clock and state.

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import struct
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np

from media.audio import AudioClip, read_wav, resample, write_wav
from media.g711 import SILENCE_ULAW_FRAME, ulaw_decode, ulaw_encode
from media.rtp import RtpError, RtpPacket
from media.vad import rms_dbfs

from ._proc import PhoneError, free_phone_port

HOST = "127.0.0.1"
RATE = 8000
FRAME_S = 0.020
FRAME_SAMPLES = 160
PT_PCMU, PT_EVENT = 0, 101
DTMF_EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11, "A": 12, "B": 13, "C": 14, "D": 15}
DTMF_RE = re.compile(r"^[0-9*#A-D]+$")


class ReactivePhoneError(PhoneError):
    """The call never came, never carried audio, or the script did not finish in time."""


@dataclass
class Line:
    """One line of the script: a clip to say (`audio`) or keys to press (`dtmf`). `barge_in_after_ms`:
    say it that long after the agent starts talking instead of waiting for its turn to end."""

    audio: AudioClip | None = None
    dtmf: str = ""
    barge_in_after_ms: float | None = None
    label: str = ""

    @classmethod
    def of(cls, item: Line | AudioClip | Path | str) -> Line:
        """A script item: a Line, a clip, a WAV path, or a string of DTMF keys ("1", "123#")."""
        if isinstance(item, Line):
            return item
        if isinstance(item, AudioClip):
            return cls(audio=item, label="clip")
        if isinstance(item, str) and DTMF_RE.match(item):
            return cls(dtmf=item, label=f"keys {item}")
        return cls(audio=read_wav(item), label=Path(item).name)


@dataclass
class Turn:
    """One line spoken, timed on the phone's clock (event-loop seconds; `phone.answered_at` is 0 s
    of the call). `agent_turn_end`: the agent's last voiced frame before the line began (None when
    the line cut in); `caller_speech_end`: the end of the line's last voiced frame sent (for keys,
    the last event packet); `agent_first_audio`: the arrival of the first voiced frame after it."""

    index: int
    label: str
    started_at: float
    agent_turn_end: float | None = None
    caller_speech_end: float | None = None
    agent_first_audio: float | None = None
    overlap_frames: int = 0  # agent's voiced frames heard from the line's start to caller_speech_end
    barge_in: bool = False

    @property
    def voice_to_voice_s(self) -> float | None:
        if self.caller_speech_end is None or self.agent_first_audio is None:
            return None
        return self.agent_first_audio - self.caller_speech_end

    @property
    def waited_s(self) -> float | None:
        """Quiet on the line between the agent's last voiced frame and this line's first frame."""
        return None if self.agent_turn_end is None else self.started_at - self.agent_turn_end


@dataclass
class _Invite:
    addr: tuple[str, int]
    vias: list[str]
    from_: str
    to: str
    call_id: str
    cseq: str
    contact_uri: str
    remote_rtp: tuple[str, int]
    to_tag: str
    answer: bytes = b""
    acked: bool = False


@dataclass
class _Frame:
    payload: bytes
    voiced: bool = False
    event: int | None = None  # an RFC 4733 packet: payload is the event body
    event_start: bool = False
    end_repeats: int = 1


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, on_datagram) -> None:
        self.on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.on_datagram(data, addr)


def _header(msg: str, name: str, *, all_: bool = False) -> str | list[str]:
    compact = {"via": "v", "from": "f", "to": "t", "call-id": "i", "contact": "m", "content-length": "l"}
    names = {name.lower(), compact.get(name.lower(), name.lower())}
    found = [line.split(":", 1)[1].strip() for line in msg.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
             if ":" in line and line.split(":", 1)[0].strip().lower() in names]
    return found if all_ else (found[0] if found else "")


def _uri(header: str) -> str:
    match = re.search(r"<([^>]+)>", header)
    return match.group(1) if match else header.split(";")[0].strip()


class ReactivePhone:
    """Answers one call on 127.0.0.1:`port` and plays `script`, one line per agent turn."""

    def __init__(
        self,
        script: Iterable[Line | AudioClip | Path | str] = (),
        *,
        port: int | None = None,
        number: str = "5551234",
        workdir: Path | str | None = None,
        threshold_dbfs: float = -38.0,
        onset_frames: int = 2,
        quiet_s: float = 1.0,
        barge_in_after_ms: float | None = None,
        hangup_after_last: bool = True,
        quiet_timeout_s: float = 20.0,
        rtp_timeout_s: float = 5.0,
    ) -> None:
        """`quiet_s`: quiet that ends the agent's turn. `barge_in_after_ms`: every line cuts in that
        long after the agent starts (a Line may set its own). `hangup_after_last`: BYE once the
        agent's answer to the last line is over; else stay on until the agent hangs up.
        `quiet_timeout_s`: hang up when the agent says nothing that long while awaited.
        `rtp_timeout_s`: after the ACK, the time allowed for the first RTP packet."""
        self.script = [Line.of(item) for item in script]
        if barge_in_after_ms is not None:
            for line in self.script:
                if line.barge_in_after_ms is None:
                    line.barge_in_after_ms = barge_in_after_ms
        self.port = port or free_phone_port()
        self.number = number
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="reactive-phone-"))
        self.threshold_dbfs, self.onset_frames, self.quiet_s = threshold_dbfs, onset_frames, quiet_s
        self.hangup_after_last, self.quiet_timeout_s, self.rtp_timeout_s = hangup_after_last, quiet_timeout_s, rtp_timeout_s
        self.rtp_port = port_ = free_phone_port()
        while port_ == self.port:
            self.rtp_port = port_ = free_phone_port()
        self.turns: list[Turn] = []
        self.agent_speech: list[list[float]] = []  # [start, end] of each stretch heard (arrival times)
        self.agent_onsets: list[float] = []  # every start of speech heard (a new voiced run)
        self.sip_log: list[str] = []
        self.heard_wav = self.workdir / "heard.wav"
        self.sent_wav = self.workdir / "sent.wav"
        self.answered_at: float | None = None
        self.first_rtp_at: float | None = None
        self.hung_up_by: str | None = None  # "phone" or "agent"
        self.late_frames = 0  # frames sent more than one frame behind the clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sip = self._rtp = None
        self._invite: _Invite | None = None
        self._answered = asyncio.Event()
        self._ended = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._tx: list[_Frame] = []
        self._tx_done: asyncio.Event | None = None
        self._heard: dict[int, np.ndarray] = {}
        self._sent: list[np.ndarray] = []
        self._voiced_run = 0
        self._last_voiced: float | None = None
        self._voiced_at: list[float] = []  # arrival of every voiced frame heard in the agent's speech
        self._last_sent_voiced: float | None = None
        self._heard_changed = asyncio.Event()
        self._bye_ok = asyncio.Event()
        self._error: str | None = None
        self._t0 = 0.0

    # ------------------------------------------------------------------ lifetime
    async def __aenter__(self) -> Self:
        self._loop = asyncio.get_running_loop()
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self._sip, _ = await self._loop.create_datagram_endpoint(
                lambda: _Udp(self._on_sip), local_addr=(HOST, self.port))
            self._rtp, _ = await self._loop.create_datagram_endpoint(
                lambda: _Udp(self._on_rtp), local_addr=(HOST, self.rtp_port))
        except OSError as exc:
            await self.close()
            raise ReactivePhoneError(f"cannot bind {HOST}:{self.port} / {self.rtp_port}: {exc}") from exc
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Hang up if still in the call (briefly), stop everything, write the recordings."""
        if self._invite is not None and self._invite.acked and not self._ended.is_set():
            with contextlib.suppress(Exception):
                await self.hang_up(wait_s=1.0)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        for transport in (self._sip, self._rtp):
            if transport is not None:
                transport.close()
        self._sip = self._rtp = None
        self._write_recordings()

    # ------------------------------------------------------------------ waiting
    async def wait_answered(self, timeout_s: float = 30.0) -> None:
        """The call is up and Asterisk's audio is flowing; a clear error otherwise."""
        try:
            await asyncio.wait_for(self._answered.wait(), timeout_s)
        except TimeoutError:
            what = "no INVITE" if self._invite is None else "no ACK to our 200 OK"
            raise ReactivePhoneError(f"{what} on {HOST}:{self.port} within {timeout_s} s\n{self.diagnostics()}") \
                from None
        deadline = self._loop.time() + self.rtp_timeout_s
        while self.first_rtp_at is None and not self._ended.is_set():
            if self._loop.time() > deadline:
                raise ReactivePhoneError(f"no RTP from Asterisk within {self.rtp_timeout_s} s of the ACK "
                                         f"(a silent call)\n{self.diagnostics()}")
            await asyncio.sleep(0.02)

    async def wait_done(self, timeout_s: float = 120.0) -> None:
        """The script was played and the call has ended (whoever hung up)."""
        await self.wait_answered(timeout_s)
        try:
            await asyncio.wait_for(self._ended.wait(), timeout_s)
        except TimeoutError:
            raise ReactivePhoneError(f"the call did not end within {timeout_s} s ({len(self.turns)} of "
                                     f"{len(self.script)} lines said)\n{self.diagnostics()}") from None
        if self._error:  # the script's own failure, or no ACK
            raise ReactivePhoneError(f"{self._error}\n{self.diagnostics()}")

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    def diagnostics(self) -> str:
        lines = [(f"phone {HOST}:{self.port} rtp {self.rtp_port}, answered_at={self.answered_at}, "
                 f"first_rtp_at={self.first_rtp_at}, turns={self.turns}, hung_up_by={self.hung_up_by}"),
                 "--- SIP (last 12) ---", *[m.split("\r\n", 1)[0] for m in self.sip_log[-12:]]]
        return "\n".join(lines)

    # ------------------------------------------------------------------ SIP
    def _send_sip(self, text: str, addr: tuple[str, int]) -> None:
        self.sip_log.append("> " + text)
        if self._sip is not None:
            self._sip.sendto(text.encode(), addr)

    def _response(self, code: str, req: str, *, to: str | None = None, body: bytes = b"", extra: str = "") -> str:
        vias = "".join(f"Via: {v}\r\n" for v in _header(req, "via", all_=True))
        head = (f"SIP/2.0 {code}\r\n{vias}From: {_header(req, 'from')}\r\nTo: {to or _header(req, 'to')}\r\n"
                f"Call-ID: {_header(req, 'call-id')}\r\nCSeq: {_header(req, 'cseq')}\r\n{extra}"
                f"User-Agent: reactive-test-phone\r\n")
        if body:
            head += "Content-Type: application/sdp\r\n"
        return head + f"Content-Length: {len(body)}\r\n\r\n" + body.decode()

    def _on_sip(self, data: bytes, addr: tuple[str, int]) -> None:
        msg = data.decode("utf-8", "replace")
        if not msg.strip():
            return  # keep-alive
        self.sip_log.append("< " + msg)
        start = msg.split("\r\n", 1)[0]
        method = start.split(" ", 1)[0]
        if method == "SIP/2.0":
            if "BYE" in _header(msg, "cseq") and start.split(" ")[1].startswith("2"):
                self._bye_ok.set()
            return
        call_id = _header(msg, "call-id")
        ours = self._invite is not None and call_id == self._invite.call_id
        if method == "INVITE":
            if self._invite is None:
                self._on_invite(msg, addr)
            elif ours:  # a retransmission, or a re-INVITE: the same answer
                self._send_sip(self._response("200 OK", msg, to=self._to_header(msg), body=self._invite.answer,
                                              extra=self._contact()), addr)
            else:
                self._send_sip(self._response("486 Busy Here", msg, to=self._to_header(msg)), addr)
        elif method == "ACK":
            if ours and not self._invite.acked:
                self._invite.acked = True
                self.answered_at = self._loop.time()
                self._answered.set()
        elif method == "BYE":
            self._send_sip(self._response("200 OK", msg), addr)
            if ours and not self._ended.is_set():
                self.hung_up_by = "agent"
                self._end()
        elif method == "CANCEL":
            self._send_sip(self._response("200 OK", msg), addr)
        else:  # OPTIONS and anything else
            self._send_sip(self._response("200 OK", msg, extra=self._contact()), addr)

    def _to_header(self, msg: str) -> str:
        to = _header(msg, "to")
        tag = self._invite.to_tag if self._invite else secrets.token_hex(6)
        return to if ";tag=" in to else f"{to};tag={tag}"

    def _contact(self) -> str:
        return f"Contact: <sip:{self.number}@{HOST}:{self.port}>\r\n"

    def _on_invite(self, msg: str, addr: tuple[str, int]) -> None:
        body = msg.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in msg else ""
        conn = re.search(r"^c=IN IP4 (\S+)", body, re.MULTILINE)
        media = re.search(r"^m=audio (\d+) ", body, re.MULTILINE)
        if not conn or not media:
            self._send_sip(self._response("488 Not Acceptable Here", msg), addr)
            return
        contact = _uri(_header(msg, "contact")) or f"sip:{addr[0]}:{addr[1]}"
        self._invite = invite = _Invite(
            addr=addr, vias=_header(msg, "via", all_=True), from_=_header(msg, "from"), to=_header(msg, "to"),
            call_id=_header(msg, "call-id"), cseq=_header(msg, "cseq"), contact_uri=contact,
            remote_rtp=(conn.group(1), int(media.group(1))), to_tag=secrets.token_hex(6))
        session = secrets.randbelow(10**9)
        invite.answer = (
            f"v=0\r\no=- {session} {session} IN IP4 {HOST}\r\ns=reactive\r\nc=IN IP4 {HOST}\r\nt=0 0\r\n"
            f"m=audio {self.rtp_port} RTP/AVP {PT_PCMU} {PT_EVENT}\r\na=rtpmap:0 PCMU/8000\r\n"
            f"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n").encode()
        self._send_sip(self._response("100 Trying", msg), addr)
        self._send_sip(self._response("180 Ringing", msg, to=self._to_header(msg), extra=self._contact()), addr)
        ok = self._response("200 OK", msg, to=self._to_header(msg), body=invite.answer, extra=self._contact())
        self._send_sip(ok, addr)
        self._start_clock()
        self._tasks.append(asyncio.ensure_future(self._resend_ok(ok, addr)))
        self._tasks.append(asyncio.ensure_future(self._script_or_hang_up()))

    async def _resend_ok(self, ok: str, addr: tuple[str, int]) -> None:
        for _ in range(64):  # 32 s, as RFC 3261's timer H
            await asyncio.sleep(0.5)
            if self._invite.acked or self._ended.is_set():
                return
            self._send_sip(ok, addr)
        self._error = "no ACK to our 200 OK after 32 s"
        self._end()

    async def hang_up(self, wait_s: float = 2.0) -> None:
        """Send our BYE (From/To of the INVITE swapped, our To tag) and wait for its 200 a little."""
        invite = self._invite
        if invite is None or self._ended.is_set():
            return
        self.hung_up_by = self.hung_up_by or "phone"
        self._end()
        match = re.match(r"sips?:(?:[^@;>]*@)?([^:;>]+)(?::(\d+))?", invite.contact_uri)
        target = (match.group(1), int(match.group(2) or 5060)) if match else invite.addr
        bye = (f"BYE {invite.contact_uri} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {HOST}:{self.port};branch=z9hG4bK{secrets.token_hex(8)};rport\r\n"
               f"Max-Forwards: 70\r\nFrom: {invite.to};tag={invite.to_tag}\r\nTo: {invite.from_}\r\n"
               f"Call-ID: {invite.call_id}\r\nCSeq: 1 BYE\r\nUser-Agent: reactive-test-phone\r\n"
               f"Content-Length: 0\r\n\r\n")
        for _ in range(max(1, int(wait_s / 0.5))):
            self._send_sip(bye, target)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._bye_ok.wait(), 0.5)
                return

    def _end(self) -> None:
        self._ended.set()
        self._heard_changed.set()
        if self._tx_done is not None:
            self._tx_done.set()

    # ------------------------------------------------------------------ RTP out: the clock
    def _start_clock(self) -> None:
        self._t0 = self._loop.time()
        self._tasks.append(asyncio.ensure_future(self._send_loop()))

    async def _send_loop(self) -> None:
        ssrc, seq, ts = secrets.randbits(32), secrets.randbits(16), secrets.randbits(32)
        event_ts = ts
        n = 0
        while not self._ended.is_set():
            due = self._t0 + n * FRAME_S
            delay = due - self._loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -FRAME_S:
                self.late_frames += 1
            now = self._loop.time()
            frame = self._tx.pop(0) if self._tx else _Frame(SILENCE_ULAW_FRAME)
            if frame.event is None:
                packets = [RtpPacket(PT_PCMU, seq, ts, ssrc, frame.payload)]
                self._sent.append(ulaw_decode(frame.payload))
            else:
                event_ts = ts if frame.event_start else event_ts
                packets = [RtpPacket(PT_EVENT, (seq + i) & 0xFFFF, event_ts, ssrc, frame.payload,
                                     marker=frame.event_start and i == 0) for i in range(frame.end_repeats)]
                self._sent.append(np.zeros(FRAME_SAMPLES, np.int16))
            remote = self._invite.remote_rtp if self._invite else None
            if remote is not None and self._rtp is not None:
                for packet in packets:
                    self._rtp.sendto(packet.to_bytes(), remote)
            seq = (seq + len(packets)) & 0xFFFF
            ts = (ts + FRAME_SAMPLES) & 0xFFFFFFFF
            if frame.voiced or frame.event is not None:
                self._last_sent_voiced = now + FRAME_S  # the end of this frame's 20 ms
            if not self._tx and self._tx_done is not None:
                self._tx_done.set()
            n += 1

    async def _say(self, frames: list[_Frame]) -> None:
        self._tx_done = done = asyncio.Event()
        self._tx = frames
        await done.wait()

    # ------------------------------------------------------------------ RTP in
    def _on_rtp(self, data: bytes, addr: tuple[str, int]) -> None:
        now = self._loop.time() if self._loop else 0.0
        try:
            packet = RtpPacket.parse(data)
        except RtpError:
            return
        if packet.payload_type != PT_PCMU or not packet.payload:
            return
        if self.first_rtp_at is None:
            self.first_rtp_at = now
        pcm = ulaw_decode(packet.payload)
        slot = max(0, round((now - self._t0) / FRAME_S) - 1)
        while slot in self._heard:
            slot += 1
        self._heard[slot] = pcm
        if rms_dbfs(pcm) >= self.threshold_dbfs:
            self._voiced_run += 1
            if self._voiced_run == self.onset_frames:
                onset = now - (self.onset_frames - 1) * FRAME_S
                if not self.agent_speech or onset - self.agent_speech[-1][1] > self.quiet_s:
                    self.agent_speech.append([onset, now])
                self.agent_onsets.append(onset)
                self._on_agent_onset(onset)
            if self._voiced_run >= self.onset_frames:
                self._last_voiced = now
                self.agent_speech[-1][1] = now
                self._voiced_at.append(now)
        else:
            self._voiced_run = 0
        self._heard_changed.set()

    def _on_agent_onset(self, onset: float) -> None:
        turn = self.turns[-1] if self.turns else None
        if turn and turn.caller_speech_end is not None and turn.agent_first_audio is None \
                and onset >= turn.caller_speech_end:
            turn.agent_first_audio = onset

    # ------------------------------------------------------------------ the script
    async def _changed(self, deadline: float) -> None:
        self._heard_changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._heard_changed.wait(), max(0.0, min(0.05, deadline - self._loop.time())))

    async def _agent_spoke(self, after: float, timeout_s: float) -> float | None:
        """The onset of the agent's first speech after `after`, or None after `timeout_s` of nothing."""
        deadline = self._loop.time() + timeout_s
        while not self._ended.is_set() and self._loop.time() < deadline:
            if self.agent_speech and self.agent_speech[-1][1] >= after:  # a voiced frame since `after`
                return max(self.agent_speech[-1][0], after)
            await self._changed(deadline)
        return None

    async def _agent_turn_over(self, after: float) -> float | None:
        """Wait for the agent to speak after `after`, then for `quiet_s` of quiet; its last voiced frame."""
        if await self._agent_spoke(after, self.quiet_timeout_s) is None:
            return None
        while not self._ended.is_set():
            now = self._loop.time()
            if self._last_voiced is not None and now - self._last_voiced >= self.quiet_s:
                return self._last_voiced
            await self._changed(now + 0.05)
        return None

    def _frames(self, line: Line) -> list[_Frame]:
        if line.dtmf:
            return _dtmf_frames(line.dtmf)
        clip = line.audio
        pcm = clip.pcm if clip.sample_rate == RATE else resample(clip.pcm, clip.sample_rate, RATE)
        pad = (-len(pcm)) % FRAME_SAMPLES
        pcm = np.concatenate([pcm, np.zeros(pad, np.int16)]).reshape(-1, FRAME_SAMPLES)
        return [_Frame(ulaw_encode(f), rms_dbfs(f) >= self.threshold_dbfs) for f in pcm]

    async def _script_or_hang_up(self) -> None:
        """The script; if it fails, the call ends and wait_done() says why (it never hangs a test)."""
        try:
            await self._run_script()
        except Exception as exc:  # noqa: BLE001 - any failure is reported by wait_done()
            self._error = f"the script failed: {exc!r}"
            await self.hang_up()

    async def _run_script(self) -> None:
        await self._answered.wait()
        heard_until = self.answered_at
        for index, line in enumerate(self.script, 1):
            if line.barge_in_after_ms is not None:
                onset = await self._agent_spoke(heard_until, self.quiet_timeout_s)
                if onset is None:
                    break
                await asyncio.sleep(max(0.0, onset + line.barge_in_after_ms / 1000 - self._loop.time()))
                agent_end = None
            else:
                agent_end = await self._agent_turn_over(heard_until)
                if agent_end is None:
                    break
            if self._ended.is_set():
                break
            turn = Turn(index, line.label, self._loop.time(), agent_end, barge_in=line.barge_in_after_ms is not None)
            self.turns.append(turn)
            self._last_sent_voiced = None
            await self._say(self._frames(line))
            turn.caller_speech_end = self._last_sent_voiced
            if turn.caller_speech_end is not None:  # the answer may have begun before the line ended
                turn.overlap_frames = sum(turn.started_at <= t <= turn.caller_speech_end for t in self._voiced_at)
                late = [t for t in self.agent_onsets if t >= turn.caller_speech_end]
                turn.agent_first_audio = late[0] if late else None
            heard_until = turn.caller_speech_end or self._loop.time()
        else:
            if self.hangup_after_last and not self._ended.is_set():
                await self._agent_turn_over(heard_until)
                await self.hang_up()
            return
        if not self._ended.is_set():  # the agent fell silent for quiet_timeout_s
            await self.hang_up()

    # ------------------------------------------------------------------ recordings
    def _write_recordings(self) -> None:
        with contextlib.suppress(OSError):
            if self._heard:
                pcm = np.zeros((max(self._heard) + 1) * FRAME_SAMPLES, np.int16)
                for slot, frame in self._heard.items():
                    pcm[slot * FRAME_SAMPLES:(slot + 1) * FRAME_SAMPLES] = frame
                write_wav(self.heard_wav, AudioClip(pcm, RATE))
            if self._sent:
                write_wav(self.sent_wav, AudioClip(np.concatenate(self._sent), RATE))

    def heard_at(self, start: float, end: float) -> np.ndarray:
        """What the phone heard between two times of its clock (PCM, 8 kHz)."""
        a, b = (max(0, round((t - self._t0) / FRAME_S)) for t in (start, end))
        return np.concatenate([self._heard.get(s, np.zeros(FRAME_SAMPLES, np.int16)) for s in range(a, b)] or
                              [np.zeros(0, np.int16)])


def _dtmf_frames(keys: str, *, down_ms: int = 120, gap_ms: int = 200) -> list[_Frame]:
    """RFC 4733: per key, one packet every 20 ms with the event's growing duration, the end packet
    three times; then `gap_ms` of silence."""
    frames: list[_Frame] = []
    steps = max(1, down_ms // 20)
    for key in keys:
        event = DTMF_EVENTS[key]
        for i in range(steps):
            end = i == steps - 1
            body = struct.pack("!BBH", event, (0x80 if end else 0) | 10, (i + 1) * FRAME_SAMPLES)
            frames.append(_Frame(body, event=event, event_start=i == 0, end_repeats=3 if end else 1))
        frames += [_Frame(SILENCE_ULAW_FRAME)] * max(1, gap_ms // 20)
    return frames


def turns_table(turns: Sequence[Turn], origin: float = 0.0) -> str:
    """The turns as text, times from `origin` (e.g. `phone.answered_at`), for messages and reports."""
    def at(t: float | None) -> str:
        return "-" if t is None else f"{t - origin:7.2f}"
    rows = [f"{t.index:>2} {t.label[:28]:<28} agent_end {at(t.agent_turn_end)} start {at(t.started_at)} "
            f"end {at(t.caller_speech_end)} reply {at(t.agent_first_audio)} v2v "
            f"{'-' if t.voice_to_voice_s is None else f'{t.voice_to_voice_s:.3f}'} overlap {t.overlap_frames}"
            for t in turns]
    return "\n".join(rows)


__all__ = ["Line", "ReactivePhone", "ReactivePhoneError", "Turn", "turns_table"]
