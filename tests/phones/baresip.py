"""`BaresipPhone`: a real SIP phone (baresip) that speaks a WAV file and records what it hears.

Two roles in the lab:

* softphone 1001 calling in (registers to Asterisk, dials e.g. sip:7000@127.0.0.1 = the agent):

      phone = BaresipPhone(play_wav=wav, workdir=tmp_path)
      result = phone.dial("sip:7000@127.0.0.1", duration_s=10)
      result.heard_wav  # what the phone heard (the agent)

* the debtor on an outbound campaign call (listens where Asterisk's trunk sends calls and answers
  automatically; baresip only takes calls whose user part equals its account's user, so the
  number must be the one dialed: PJSIP/5551234@trunk -> number "5551234"):

      with BaresipPhone(play_wav=wav, workdir=tmp_path).answer("5551234") as phone:
          ...originate through ARI...
          phone.wait_closed(timeout_s=60)
      phone.result().heard_wav

Facts measured with baresip 1.0.0 (Debian 12) that shape this module:
* `net_interface 127.0.0.1` is needed (`lo` fails).
* The `aufile` microphone ends the call when the file ends ("menu: audio error (0,end of file)"),
  so the WAV is padded with silence to the wanted call length: the phone hangs up when its
  audio runs out, which is also how a test makes the debtor hang up at a known time.
* The `sndfile` filter writes two files per call in `snd_path`:
  `dump-<YYYY-MM-DD-HH-MM-SS>-dec.wav` = what the phone HEARD (decoded from the network) and
  `...-enc.wav` = what it SENT (its microphone). Names have 1-second resolution: calls to one
  phone less than a second apart overwrite each other; use one phone per call.
* No audio player is needed (the rx pipeline shows "(play)"), so no sound card either.
* Keys: the `cons` module takes key presses as UDP datagrams; in a call, '0'-'9', '*' and '#' are
  sent as RFC 4733 DTMF ("audio: send DTMF digit"), which Asterisk reports as ChannelDtmfReceived.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from ._proc import PhoneError, free_phone_port, search_log, spawn, tail, terminate, udp_port_bound, wait_until
from .audio import make_silence_wav, to_phone_wav

MODULE_PATH = Path("/usr/lib/baresip/modules")
REGISTERED = re.compile(r"\{\d+/UDP/v4\} 200 OK")
ESTABLISHED = re.compile(r"Call established")
CLOSED = re.compile(r"session closed|Call with .* terminated")
# RTP ports per role, disjoint so that a LoopbackTap can pick one phone's packets out.
DIAL_RTP_PORTS = range(20000, 21000)
ANSWER_RTP_PORTS = range(21000, 22000)
AGENT_RTP_PORTS = range(22000, 23000)
KEY_RELEASE = b"\x04"  # baresip's KEYCODE_REL
KEY_DOWN_S = 0.12  # how long a key is held, as a finger does


def softphone_password(user: str) -> str:
    """Extension `user`'s password: SOFTPHONE_<user>_PASSWORD, else the lab's (asterisk/lab/defaults.env)."""
    return os.environ.get(f"SOFTPHONE_{user}_PASSWORD", f"lab-phone-{user}")


class BaresipError(PhoneError):
    """baresip could not start, or what a test waited for did not happen in time."""


@dataclass
class BaresipResult:
    """Where to look after the phone stopped."""

    workdir: Path
    log: Path
    returncode: int | None
    heard_wavs: list[Path] = field(default_factory=list)  # one per call, oldest first
    sent_wavs: list[Path] = field(default_factory=list)
    registered: bool = False
    established: bool = False

    @property
    def heard_wav(self) -> Path | None:
        """What the phone heard on its last call (None: no call got audio set up)."""
        return self.heard_wavs[-1] if self.heard_wavs else None

    @property
    def sent_wav(self) -> Path | None:
        return self.sent_wavs[-1] if self.sent_wavs else None


class BaresipPhone:
    """One baresip process with a generated config directory under `workdir`."""

    def __init__(
        self,
        play_wav: Path | str | None = None,
        *,
        workdir: Path | str | None = None,
        speak_after_s: float = 0.0,
        sip_trace: bool = False,
        address: str = "127.0.0.1",
    ) -> None:
        """`play_wav`: what the phone says once the call is up (any WAV; converted to 8 kHz mono
        16-bit), after `speak_after_s` of silence. None: the phone stays silent. `address`: the
        phone's own IP for SIP and RTP (another loopback address plays a phone on another host)."""
        self.address = address
        self.play_wav = Path(play_wav) if play_wav else None
        self.speak_after_s = speak_after_s
        self.sip_trace = sip_trace
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="baresip-"))
        self.config_dir = self.workdir / "config"
        self.rec_dir = self.workdir / "recordings"
        self.log = self.workdir / "baresip.log"
        self._proc = None
        self._finalizer = None
        self._console_port = free_phone_port()

    # ------------------------------------------------------------------ the two roles
    def dial(
        self,
        uri: str,
        duration_s: float,
        *,
        user: str = "1001",
        password: str | None = None,
        registrar: str = "127.0.0.1:5060",
    ) -> BaresipResult:
        """Register as softphone `user`, call `uri`, hang up and quit after `duration_s`. Blocks."""
        self.start_dial(uri, duration_s, user=user, password=password, registrar=registrar)
        proc = self._proc
        if wait_until(lambda: proc.poll() is not None, duration_s + 15) is None:
            self.stop()
            raise BaresipError(f"baresip did not quit after {duration_s}s (-t)\n{self.diagnostics()}")
        return self.stop()

    async def adial(self, uri: str, duration_s: float, **kwargs) -> BaresipResult:
        """`dial` for asyncio tests (runs in a thread)."""
        return await asyncio.to_thread(self.dial, uri, duration_s, **kwargs)

    def start_dial(
        self,
        uri: str,
        duration_s: float,
        *,
        user: str = "1001",
        password: str | None = None,
        registrar: str = "127.0.0.1:5060",
    ) -> BaresipPhone:
        """Non-blocking `dial`: returns once baresip runs; use wait_* / stop()."""
        password = password if password is not None else softphone_password(user)
        account = f"<sip:{user}@{registrar};transport=udp>;auth_pass={password};regint=60;audio_codecs=PCMU"
        listen = f"{self.address}:{free_phone_port(self.address)}"
        # The microphone outlasts -t so the call ends by the timer, not by the file's end.
        self._prepare(account, listen, rtp_ports=DIAL_RTP_PORTS, mic_total_s=duration_s + 5)
        argv = self._argv() + ["-e", f"/dial {uri}", "-t", str(max(1, round(duration_s)))]
        self._start(argv, listen)
        return self

    def answer(
        self, number: str, *, listen: str = "127.0.0.1:5070", hangup_after_s: float = 120.0
    ) -> BaresipPhone:
        """Answer calls to `number` automatically at `listen` (the trunk's contact). The phone hangs
        up `hangup_after_s` after answering (its microphone file ends). Non-blocking; use it as
        a context manager or call stop()."""
        account = f"<sip:{number}@{listen};transport=udp>;regint=0;audio_codecs=PCMU;answermode=auto"
        host, port = listen.rsplit(":", 1)
        if udp_port_bound(host, int(port)):
            raise BaresipError(f"UDP {listen} is already in use (a leftover sipp or baresip? `ss -lunp`)")
        self._prepare(account, listen, rtp_ports=ANSWER_RTP_PORTS, mic_total_s=hangup_after_s)
        self._start(self._argv(), listen)
        return self

    def register_and_answer(
        self, user: str = "1001", *, password: str | None = None, registrar: str = "127.0.0.1:5060",
        hangup_after_s: float = 120.0, answermode: str = "auto",
    ) -> BaresipPhone:
        """A softphone extension (a human agent's desk phone): registers as `user` and answers calls
        automatically, speaking its WAV (`answermode="manual"`: it rings and nobody picks up).
        Non-blocking; wait_registered() before calling it."""
        password = password if password is not None else softphone_password(user)
        account = (f"<sip:{user}@{registrar};transport=udp>;auth_pass={password};regint=60;audio_codecs=PCMU;"
                   f"answermode={answermode}")
        listen = f"{self.address}:{free_phone_port(self.address)}"
        self._prepare(account, listen, rtp_ports=AGENT_RTP_PORTS, mic_total_s=hangup_after_s)
        self._start(self._argv(), listen)
        return self

    # ------------------------------------------------------------------ keys
    def press(self, keys: str, gap_s: float = 0.3) -> None:
        """Press `keys` on the phone's keypad during the call: DTMF, one key every `gap_s`."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as console:
            for key in keys:
                console.sendto(key.encode(), ("127.0.0.1", self._console_port))
                time.sleep(KEY_DOWN_S)
                # Release it: baresip ends the RFC 4733 event only then, and Asterisk reports a digit
                # (ChannelDtmfReceived) at its end. Without it, each key is reported at the next press.
                console.sendto(KEY_RELEASE, ("127.0.0.1", self._console_port))
                time.sleep(max(0.0, gap_s - KEY_DOWN_S))

    async def apress(self, keys: str, gap_s: float = 0.3) -> None:
        await asyncio.to_thread(self.press, keys, gap_s)

    # ------------------------------------------------------------------ waiting
    def wait_for(self, pattern: str | re.Pattern[str], timeout_s: float = 10.0) -> re.Match[str]:
        """Wait for `pattern` in baresip's log; BaresipError with the log's tail on timeout."""
        match = wait_until(lambda: search_log(self.log, pattern), timeout_s, alive=self._proc)
        if match is None:
            raise BaresipError(f"baresip: no {pattern!r} within {timeout_s}s\n{self.diagnostics()}")
        return match

    def wait_registered(self, timeout_s: float = 10.0) -> None:
        self.wait_for(REGISTERED, timeout_s)

    def wait_established(self, timeout_s: float = 15.0) -> None:
        self.wait_for(ESTABLISHED, timeout_s)

    def wait_closed(self, timeout_s: float = 60.0) -> None:
        self.wait_for(CLOSED, timeout_s)

    async def await_for(self, pattern: str | re.Pattern[str], timeout_s: float = 10.0) -> re.Match[str]:
        return await asyncio.to_thread(self.wait_for, pattern, timeout_s)

    # ------------------------------------------------------------------ stopping, results
    def stop(self) -> BaresipResult:
        """Quit baresip (SIGTERM: hangs up and unregisters; SIGKILL after 5 s) and collect results."""
        if self._proc is not None:
            terminate(self._proc, grace_s=5.0)
            if self._finalizer is not None:
                self._finalizer.detach()
        return self.result()

    def result(self) -> BaresipResult:
        log_text = self.log.read_text("utf-8", "replace") if self.log.exists() else ""
        return BaresipResult(
            workdir=self.workdir,
            log=self.log,
            returncode=None if self._proc is None else self._proc.poll(),
            heard_wavs=sorted(self.rec_dir.glob("dump-*-dec.wav")),
            sent_wavs=sorted(self.rec_dir.glob("dump-*-enc.wav")),
            registered=bool(REGISTERED.search(log_text)),
            established=bool(ESTABLISHED.search(log_text)),
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    def diagnostics(self) -> str:
        # The call-statistics line is redrawn with \r; keep the log readable.
        text = tail(self.log, 6000).replace("\r", "\n")
        lines = [ln for ln in text.splitlines() if not re.match(r"^\s*\[\d+:\d\d:\d\d\] audio=", ln)]
        return f"workdir: {self.workdir}\n--- baresip log (tail) ---\n" + "\n".join(lines[-60:])

    # ------------------------------------------------------------------ internals
    def _prepare(self, account: str, listen: str, *, rtp_ports: range, mic_total_s: float) -> None:
        if self._proc is not None:
            raise BaresipError("this BaresipPhone already ran; make a new one per call")
        if not shutil.which("baresip"):
            raise BaresipError("baresip is not installed (Debian baresip-core; asterisk/lab/packages.sh)")
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.rec_dir.mkdir(parents=True, exist_ok=True)
        mic = self.workdir / "microphone.wav"
        if self.play_wav:
            to_phone_wav(self.play_wav, mic, lead_s=self.speak_after_s, total_s=mic_total_s)
        else:
            make_silence_wav(mic, mic_total_s)
        (self.config_dir / "config").write_text(
            "\n".join(
                [
                    "poll_method epoll",
                    f"sip_listen {listen}",
                    "sip_transports udp",
                    f"net_interface {self.address}",
                    f"rtp_ports {rtp_ports.start}-{rtp_ports.stop - 1}",
                    f"audio_source aufile,{mic}",
                    "audio_srate 8000",
                    "audio_channels 1",
                    f"module_path {MODULE_PATH}",
                    "module g711.so",
                    "module aufile.so",
                    "module sndfile.so",
                    "module cons.so",  # key presses over UDP: DTMF (press())
                    f"cons_listen 127.0.0.1:{self._console_port}",
                    "module_app account.so",
                    "module_app menu.so",  # executes the -e "/dial ..." command, auto-answers
                    f"snd_path {self.rec_dir}",
                    "",
                ]
            )
        )
        (self.config_dir / "accounts").write_text(account + "\n")
        (self.config_dir / "contacts").write_text("")

    def _argv(self) -> list[str]:
        argv = [shutil.which("baresip") or "baresip", "-f", str(self.config_dir)]
        return argv + (["-s"] if self.sip_trace else [])

    def _start(self, argv: list[str], listen: str) -> None:
        (self.workdir / "command.txt").write_text(" ".join(argv) + "\n")
        self._proc = spawn(argv, cwd=self.workdir, stdout=self.log)
        self._finalizer = weakref.finalize(self, terminate, self._proc, 2.0)
        ready = wait_until(lambda: search_log(self.log, r"baresip is ready"), 10.0, alive=self._proc)
        if not ready or self._proc.poll() is not None:
            self.stop()
            raise BaresipError(f"baresip did not start (listen {listen})\n{self.diagnostics()}")
