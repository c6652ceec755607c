"""Process and socket helpers shared by the test phones (sipp, baresip).

Why here: both phones are external programs that must never outlive a test, never hang it, and
explain themselves when they fail; the same few mechanisms serve both.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import socket
import subprocess
import time
from pathlib import Path


class PhoneError(RuntimeError):
    """A test phone failed to start, died early, or did not do what was awaited in time."""


def tail(path: Path, max_chars: int = 3000) -> str:
    """The end of a log file (empty if missing), for error messages."""
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-max_chars:].decode("utf-8", "replace")


def _hex_addr(host: str, port: int) -> str:
    # /proc/net/udp writes IPv4 addresses as little-endian hex: 127.0.0.1:5070 -> 0100007F:13CE.
    packed = socket.inet_aton(host)
    return f"{int.from_bytes(packed, 'little'):08X}:{port:04X}"


def udp_port_bound(host: str, port: int) -> bool:
    """Whether some socket is bound to UDP host:port (or 0.0.0.0:port).

    Reads /proc/net/udp instead of test-binding the port: a test bind could race the program
    that is starting and make *it* fail.
    """
    wanted = {_hex_addr(host, port), _hex_addr("0.0.0.0", port)}
    try:
        lines = Path("/proc/net/udp").read_text().splitlines()[1:]
    except OSError:
        return False
    return any(line.split()[1] in wanted for line in lines if len(line.split()) > 1)


def tcp_port_listening(host: str, port: int) -> bool:
    """Whether some socket listens on TCP host:port (or 0.0.0.0:port); /proc/net/tcp, as above."""
    wanted = {_hex_addr(host, port), _hex_addr("0.0.0.0", port)}
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    return any(len(f) > 3 and f[1] in wanted and f[3] == "0A" for f in (line.split() for line in lines))  # 0A: LISTEN


# Ports the test phones listen on: outside the kernel's ephemeral range (32768-60999 here), where an
# outgoing TCP connection (PostgreSQL, ARI) may take a port between the check and the bind, and
# outside the RTP ranges (Asterisk 10000-19999, the phones 20000-22999, the app 40000-40999).
# A CI run once lost a baresip to exactly that: its UDP port was free, the same TCP port was not.
_PHONE_PORTS = range(23000, 30000)


def free_phone_port(host: str = "127.0.0.1") -> int:
    """A port free right now for both UDP and TCP (baresip's SIP binds both), picked at random in
    a range no one else in the lab allocates from."""
    for port in random.sample(_PHONE_PORTS, 200):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, \
                    socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                udp.bind((host, port))
                tcp.bind((host, port))
        except OSError:
            continue
        return port
    raise PhoneError(f"no free port for a test phone in {_PHONE_PORTS}")


def spawn(argv: list[str], *, cwd: Path, stdout: Path, stderr: Path | None = None) -> subprocess.Popen:
    """Start a program in its own session (so its whole group can be killed), stdin closed."""
    out = open(stdout, "ab")  # noqa: SIM115 - handed to the child, closed below
    err = open(stderr, "ab") if stderr else subprocess.STDOUT  # noqa: SIM115
    try:
        return subprocess.Popen(
            argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True
        )
    finally:
        out.close()
        if stderr:
            err.close()  # type: ignore[union-attr]


def terminate(proc: subprocess.Popen, grace_s: float = 5.0) -> int | None:
    """Stop a spawned program: SIGTERM (lets it send BYE / unregister), then SIGKILL its group."""
    if proc.poll() is None:
        with contextlib.suppress(subprocess.TimeoutExpired, ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=grace_s)
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):  # a process that survives SIGKILL
            proc.wait(timeout=5)
    return proc.returncode


def wait_until(
    predicate, timeout_s: float, *, interval_s: float = 0.05, alive: subprocess.Popen | None = None
):
    """Poll `predicate` until it returns a truthy value; None on timeout or when `alive` exits."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if alive is not None and alive.poll() is not None:
            return predicate() or None
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval_s)


def search_log(path: Path, pattern: str | re.Pattern[str], start: int = 0) -> re.Match[str] | None:
    """First match of `pattern` in the log from character offset `start` on."""
    try:
        text = path.read_text("utf-8", "replace")
    except OSError:
        return None
    rx = re.compile(pattern) if isinstance(pattern, str) else pattern
    return rx.search(text, start)
