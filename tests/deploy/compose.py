"""Driving the compose stack from a test: the engine, the images, a settings file, up/down, health.

Only Docker's own commands (docker-compose, docker) and the repository's deploy/ scripts are used: what a
deployer runs (docs/deploy-compose.md)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("postgres", "asterisk", "app")


class ComposeError(RuntimeError):
    """A step of the stack's life failed; the message carries the command's output."""


def free_ports(count: int) -> list[int]:
    """`count` different ports free right now on 127.0.0.1 for both TCP and UDP.

    Every port stays bound until all are chosen: a port released at once can be the kernel's next
    answer too (CI once gave PostgreSQL and the API the same one, and the app could not start)."""
    with contextlib.ExitStack() as held:
        ports: list[int] = []
        for _ in range(50 * count):
            tcp = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            udp = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            ports.append(port)
            if len(ports) == count:
                return ports
    raise ComposeError("no free port on 127.0.0.1")


def secret(prefix: str) -> str:
    return f"{prefix}-{secrets.token_urlsafe(18)}"


async def run(*argv: str, timeout_s: float, env: dict[str, str] | None = None, check: bool = True) -> str:
    """Run a command off the event loop; its stdout+stderr, or ComposeError with them."""
    proc = await asyncio.create_subprocess_exec(*argv, cwd=REPO, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT,
                                                env={**os.environ, **(env or {})})
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise ComposeError(f"{' '.join(argv)} did not finish within {timeout_s} s") from None
    text = out.decode(errors="replace")
    if check and proc.returncode != 0:
        raise ComposeError(f"{' '.join(argv)} exited {proc.returncode}:\n{text[-6000:]}")
    return text


@dataclass
class Stack:
    """One compose project with its own settings file and ports, beside the lab."""

    env_file: Path
    project: str = "callcenter-composetest"
    settings: dict[str, str] = field(default_factory=dict)

    def write_settings(self, trunk_port: int) -> None:
        """Non-lab secrets (a database password with the characters that break a URL) and free ports."""
        postgres, sip, http, api = free_ports(4)
        self.settings = {
            "CALLCENTER_MODE": "production",
            "POSTGRES_PASSWORD": "p@ss:w/rd#?%" + secrets.token_hex(6),
            "ARI_PASSWORD": secret("ari"),
            "API_TOKENS": secret("token") + secrets.token_hex(8),
            "WEBHOOK_SECRETS_KEY": Fernet.generate_key().decode(),
            "POSTGRES_PORT": str(postgres),
            "ASTERISK_SIP_BIND": "127.0.0.1",
            "ASTERISK_SIP_PORT": str(sip),
            "ASTERISK_HTTP_PORT": str(http),
            "ASTERISK_MEDIA_ADDRESS": "127.0.0.1",
            "ASTERISK_RTP_START": "14000",
            "ASTERISK_RTP_END": "14199",
            "RTP_HOST": "127.0.0.1",
            "RTP_PORT_MIN": "44000",
            "RTP_PORT_MAX": "44199",
            "API_HOST": "127.0.0.1",
            "API_PORT": str(api),
            "TRUNK_HOST": "127.0.0.1",
            "TRUNK_PORT": str(trunk_port),
            "SOFTPHONE_1001_PASSWORD": secret("desk1001"),
            "SOFTPHONE_1002_PASSWORD": secret("desk1002"),
            "SOFTPHONE_1003_PASSWORD": secret("desk1003"),
            "HUMAN_AGENTS": "PJSIP/1001&PJSIP/1002",
            "AGENT_MODE": "conversation",
            "DIALER_CHANNELS": "0",
            "SCHEDULE_WAVES": "false",
            "NO_INPUT_TIMEOUT_S": "20",
        }
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in self.settings.items()))
        self.env_file.chmod(0o600)

    @property
    def _env(self) -> dict[str, str]:
        return {"CALLCENTER_ENV_FILE": str(self.env_file)}

    async def compose(self, *args: str, timeout_s: float = 300, check: bool = True) -> str:
        return await run("docker-compose", "--env-file", str(self.env_file), "-p", self.project, *args,
                         timeout_s=timeout_s, env=self._env, check=check)

    async def build(self) -> float:
        t0 = time.monotonic()
        await run("bash", "deploy/build-images.sh", timeout_s=1800, env=self._env)
        return time.monotonic() - t0

    async def health(self) -> dict[str, str]:
        states = {}
        for service in SERVICES:
            cid = (await self.compose("ps", "-q", service, check=False)).strip()
            states[service] = (await run("docker", "inspect", "-f", "{{if .State.Health}}{{.State.Health.Status}}"
                                         "{{else}}{{.State.Status}}{{end}}", cid, timeout_s=30, check=False)
                               ).strip() if cid else "absent"
        return states

    async def wait_healthy(self, timeout_s: float) -> float:
        t0 = time.monotonic()
        states: dict[str, str] = {}
        while time.monotonic() - t0 < timeout_s:
            states = await self.health()
            if all(s == "healthy" for s in states.values()):
                return time.monotonic() - t0
            await asyncio.sleep(3)
        logs = await self.compose("logs", "--no-color", "--tail", "40", check=False)
        raise ComposeError(f"the stack was not healthy within {timeout_s} s: {states}\n{logs[-8000:]}")

    async def down(self) -> None:
        await self.compose("down", "-v", "--remove-orphans", timeout_s=180, check=False)


def engine_up() -> str | None:
    """Start (installing when missing) Docker's engine and compose; None, or why it cannot run here."""
    proc = subprocess.run(["bash", "deploy/engine.sh", "up"], cwd=REPO, capture_output=True, text=True,
                          timeout=600, check=False)
    return None if proc.returncode == 0 else (proc.stdout + proc.stderr).strip()[-3000:]


def engine_down() -> None:
    """Stop the engine if engine_up started it (one already running is left alone)."""
    subprocess.run(["bash", "deploy/engine.sh", "down"], cwd=REPO, capture_output=True, timeout=120,
                   check=False)
