"""`sipp_call`: a real sipp UAC places one call into Asterisk, as a carrier hands one over a trunk.

    result = await sipp_call("call_in", service="56225550100", caller="56987654321", host="127.0.0.3")
    assert result.ok, result.diagnostics()

The scenario (tests/phones/scenarios/*.xml) decides what counts as success: `call_in` is answered,
echoes the agent's RTP back (-rtp_echo) and answers the agent's BYE; `call_in_refused` wants 401/403.
"""

from __future__ import annotations

import asyncio
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ._proc import free_phone_port, tail
from .sipp import SCENARIO_DIR, SippError


@dataclass
class SippCallResult:
    returncode: int
    workdir: Path

    @property
    def ok(self) -> bool:
        """sipp's own verdict: 0 when the one call went through the scenario to its end."""
        return self.returncode == 0

    @property
    def messages(self) -> str:
        return tail(self.workdir / "messages.log", 200_000)

    def diagnostics(self) -> str:
        return (f"sipp exit status {self.returncode}; workdir {self.workdir}\n--- errors ---\n"
                f"{tail(self.workdir / 'errors.log')}\n--- stdout (tail) ---\n{tail(self.workdir / 'stdout.log', 1500)}")


async def sipp_call(scenario: str, *, service: str, caller: str, host: str = "127.0.0.1",
                    target: str = "127.0.0.1:5060", timeout_s: float = 60.0,
                    workdir: Path | None = None, echo: bool = True) -> SippCallResult:
    """Run `scenario` once from `host` (a loopback address plays another host) to Asterisk at `target`.
    `echo=False` for a scenario that streams its own audio (`call_in_quiet`: a caller who says nothing,
    for a conversation that must not hear itself echoed); its quiet.wav is written into the workdir."""
    sipp = shutil.which("sipp")
    if not sipp:
        raise SippError("sipp is not installed (Debian package sip-tester; asterisk/lab/packages.sh)")
    workdir = workdir or Path(tempfile.mkdtemp(prefix=f"sipp-{scenario}-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if not echo:
        _write_quiet_wav(workdir / "quiet.wav")
    argv = [
        sipp, target, "-sf", str(SCENARIO_DIR / f"{scenario}.xml"),
        "-i", host, "-mi", host, "-p", str(free_phone_port(host)), "-mp", str(free_phone_port(host)),
        "-s", service, "-key", "caller", caller,
        "-m", "1", "-nostdin", *(["-rtp_echo"] if echo else []), "-timeout", f"{int(timeout_s)}s", "-timeout_error",
        "-trace_msg", "-message_file", str(workdir / "messages.log"),
        "-trace_err", "-error_file", str(workdir / "errors.log"),
    ]  # fmt: skip
    with (workdir / "stdout.log").open("wb") as out:
        proc = await asyncio.create_subprocess_exec(*argv, cwd=workdir, stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=out, stderr=asyncio.subprocess.STDOUT)
        try:
            returncode = await asyncio.wait_for(proc.wait(), timeout_s + 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise SippError(f"sipp ran past {timeout_s + 10} s; workdir {workdir}") from None
    return SippCallResult(returncode, workdir)


def _write_quiet_wav(path: Path, seconds: float = 1.0) -> None:
    """Mu-law silence at 8 kHz in a WAV (format 7), the file sipp's rtp_stream plays as PCMU; the
    `wave` module writes only linear PCM."""
    data = b"\xff" * int(8000 * seconds)  # mu-law's zero
    fmt = struct.pack("<HHIIHHH", 7, 1, 8000, 8000, 1, 8, 0)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
