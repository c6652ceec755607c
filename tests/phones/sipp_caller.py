"""`sipp_call`: a real sipp UAC places one call into Asterisk, as a carrier hands one over a trunk.

    result = await sipp_call("call_in", service="56225550100", caller="56987654321", host="127.0.0.3")
    assert result.ok, result.diagnostics()

The scenario (tests/phones/scenarios/*.xml) decides what counts as success: `call_in` is answered,
echoes the agent's RTP back (-rtp_echo) and answers the agent's BYE; `call_in_refused` wants 401/403.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.speech_set import write_ulaw_wav
from media.audio import AudioClip

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


# Scenarios that stream their own audio instead of echoing the agent's (-rtp_echo): `call_in_quiet`, a
# caller who says nothing, for a conversation that must not hear itself; it plays quiet.wav from its workdir.
_STREAMING = {"call_in_quiet"}


async def sipp_call(scenario: str, *, service: str, caller: str, host: str = "127.0.0.1",
                    target: str = "127.0.0.1:5060", timeout_s: float = 60.0,
                    workdir: Path | None = None) -> SippCallResult:
    """Run `scenario` once from `host` (a loopback address plays another host) to Asterisk at `target`."""
    sipp = shutil.which("sipp")
    if not sipp:
        raise SippError("sipp is not installed (Debian package sip-tester; asterisk/lab/packages.sh)")
    workdir = workdir or Path(tempfile.mkdtemp(prefix=f"sipp-{scenario}-"))
    workdir.mkdir(parents=True, exist_ok=True)
    echo = scenario not in _STREAMING
    if not echo:
        write_ulaw_wav(workdir / "quiet.wav", AudioClip(np.zeros(8000, np.int16), 8000))  # 1 s, looped
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

