"""`SippCarrier`: a real sipp UAS playing the carrier (or the debtor's line) on 127.0.0.1:5070.

Asterisk's `trunk` endpoint sends outbound calls to sip:127.0.0.1:5070 (see asterisk/etc/pjsip.conf),
so whatever scenario runs here decides how the "far end" behaves: answer, busy, 404, ... One sipp
takes any number of calls in a row (one scenario instance per incoming INVITE).

    with SippCarrier("busy") as carrier:
        ...originate PJSIP/5551234@trunk through ARI...
        carrier.wait_received("INVITE")

From asyncio tests: `async with SippCarrier("answer"):` (start/stop run in a thread).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Self

from ._proc import PhoneError, spawn, tail, tcp_port_listening, terminate, udp_port_bound, wait_until

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
# Scenario name -> what Asterisk reports for an originate to it (measured; see asterisk/README.md).
SCENARIOS = {
    "answer": "answers with PCMU, echoes RTP (-rtp_echo), waits for BYE",
    "answer_mute": "answers like answer but never sends RTP (no -rtp_echo): a silent call",
    "busy": "486 Busy Here -> dial status BUSY, cause 17",
    "unavailable": "480 Temporarily Unavailable -> NOANSWER, cause 19",
    "congestion": "503 Service Unavailable -> CONGESTION, cause 34",
    "not_found": "404 Not Found -> NOANSWER (!), cause 1",
    "by_number": "the last digit decides: ...7 busy (486), ...8 no answer (480), else answer (echo)",
    "ring_forever": "180 Ringing until CANCEL (200 + 487) -> cause 19 after the originate timeout",
}

_RECEIVED = re.compile(r"message received \[\d+\] bytes :\s*\n\s*(\S+)")


class SippError(PhoneError):
    """sipp could not start, or exited while it should be serving calls."""


class SippCarrier:
    """Runs `sipp` as a UAS with one of tests/phones/scenarios/*.xml (or a path to another one)."""

    def __init__(
        self,
        scenario: str | Path = "answer",
        *,
        host: str = "127.0.0.1",
        port: int = 5070,
        media_port: int = 6000,
        rtp_echo: bool | None = None,
        workdir: Path | None = None,
        start_timeout_s: float = 5.0,
        extra_args: tuple[str, ...] = (),
        transport: str = "udp",
    ) -> None:
        path = Path(scenario) if isinstance(scenario, Path) or scenario.endswith(".xml") else None
        self.scenario = path or SCENARIO_DIR / f"{scenario}.xml"
        if not self.scenario.is_file():
            raise SippError(f"no sipp scenario {self.scenario} (known: {', '.join(SCENARIOS)})")
        self.host, self.port, self.media_port = host, port, media_port
        self.rtp_echo = self.scenario.stem in ("answer", "by_number") if rtp_echo is None else rtp_echo
        prefix = f"sipp-{self.scenario.stem}-"
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix=prefix))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.start_timeout_s = start_timeout_s
        self.extra_args = extra_args
        if transport not in ("udp", "tcp"):
            raise SippError(f"sipp transport is udp or tcp, not {transport!r}")
        self.transport = transport  # tcp: a carrier that wants SIP over TCP (TRUNK_TRANSPORT=tcp)
        self.stdout_log = self.workdir / "sipp.stdout.log"
        self.stderr_log = self.workdir / "sipp.stderr.log"
        self.message_log = self.workdir / "sipp.messages.log"
        self.error_log = self.workdir / "sipp.errors.log"
        self._proc = None
        self._finalizer = None

    # ------------------------------------------------------------------ lifecycle
    def command(self) -> list[str]:
        sipp = shutil.which("sipp")
        if not sipp:
            raise SippError("sipp is not installed (Debian package sip-tester; asterisk/lab/packages.sh)")
        argv = [
            sipp, "-sf", str(self.scenario),
            "-i", self.host, "-mi", self.host,  # without -mi sipp advertises the host's main address
            "-p", str(self.port), "-mp", str(self.media_port),
            "-nostdin",
            "-aa",  # 200 to stray OPTIONS/INFO/NOTIFY/UPDATE instead of aborting the call
            "-trace_msg", "-message_file", str(self.message_log),
            "-trace_err", "-error_file", str(self.error_log),
        ]  # fmt: skip
        if self.rtp_echo:
            argv.append("-rtp_echo")
        if self.transport == "tcp":
            argv += ["-t", "t1"]  # one TCP connection for every call
        return argv + list(self.extra_args)

    def _bound(self) -> bool:
        if self.transport == "tcp":
            return tcp_port_listening(self.host, self.port)
        return udp_port_bound(self.host, self.port)

    def start(self) -> SippCarrier:
        if self._proc is not None:
            return self
        if self._bound():
            raise SippError(
                f"{self.transport.upper()} {self.host}:{self.port} is already in use (a leftover sipp or baresip? "
                "`ss -lunp`)"
            )
        self._proc = spawn(self.command(), cwd=self.workdir, stdout=self.stdout_log, stderr=self.stderr_log)
        # Kill it even if the test never reaches stop() (crash, KeyboardInterrupt, interpreter exit).
        self._finalizer = weakref.finalize(self, terminate, self._proc, 2.0)
        listening = self._bound
        bound = wait_until(listening, self.start_timeout_s, alive=self._proc)
        if not bound or self._proc.poll() is not None:
            self.stop()
            raise SippError(f"sipp did not start listening on {self.host}:{self.port}\n{self.diagnostics()}")
        return self

    def stop(self) -> int | None:
        if self._proc is None:
            return None
        rc = terminate(self._proc, grace_s=3.0)
        if self._finalizer is not None:
            self._finalizer.detach()
        return rc

    def check_alive(self) -> None:
        """Raise SippError (with its stderr) if sipp has exited."""
        if self._proc is None or self._proc.poll() is not None:
            rc = None if self._proc is None else self._proc.returncode
            raise SippError(f"sipp is not running (exit status {rc})\n{self.diagnostics()}")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    # ------------------------------------------------------------------ what happened
    def received(self, method: str | None = None) -> list[str]:
        """Start-line first words of the messages sipp received (INVITE, ACK, BYE, CANCEL, SIP/2.0)."""
        try:
            text = self.message_log.read_text("utf-8", "replace")
        except OSError:
            return []
        words = _RECEIVED.findall(text)
        return [w for w in words if method is None or w == method]

    def dialed(self) -> dict[str, str]:
        """Call-ID -> the number dialed (the INVITE's Request-URI user), one entry per call however often
        UDP retransmitted its INVITE."""
        try:
            text = self.message_log.read_text("utf-8", "replace")
        except OSError:
            return {}
        calls: dict[str, str] = {}
        for block in text.split("message received")[1:]:
            lines = [line.strip() for line in block.splitlines()[1:] if line.strip()]
            if not lines or not lines[0].startswith("INVITE sip:"):
                continue
            number = lines[0].split()[1].removeprefix("sip:").split("@")[0]
            # The INVITE's own Call-ID: the first one in the block (what sipp sent after it follows).
            call_id = next((line.split(":", 1)[1].strip() for line in lines
                            if line.lower().startswith(("call-id:", "i:"))), None)
            if call_id is not None:
                calls[call_id] = number
        return calls

    def wait_received(self, method: str = "INVITE", count: int = 1, timeout_s: float = 10.0) -> int:
        """Wait until sipp has received `count` requests of `method`; raise SippError otherwise."""
        got = wait_until(lambda: len(self.received(method)) >= count, timeout_s, alive=self._proc)
        if not got:
            n = len(self.received(method))
            raise SippError(f"sipp got {n} {method} (wanted {count}) in {timeout_s}s\n{self.diagnostics()}")
        return len(self.received(method))

    def echoed_rtp_packets(self) -> int | None:
        """RTP packets sipp echoed (-rtp_echo), from the statistics it prints when it stops."""
        found = re.findall(r"(\d+) Total echo RTP pckts 1st stream", tail(self.stdout_log, 20000))
        return int(found[-1]) if found else None

    def diagnostics(self) -> str:
        return (
            f"scenario: {self.scenario}\nworkdir: {self.workdir}\n"
            f"--- stderr ---\n{tail(self.stderr_log)}\n--- errors ---\n{tail(self.error_log)}\n"
            f"--- stdout (tail) ---\n{tail(self.stdout_log, 1500)}"
        )

