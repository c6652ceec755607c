"""The lab's Asterisk rendered with a few settings changed for one test, and put back after it.

Settings that the renderer writes (asterisk/lab/defaults.env, pjsip-site.sh) reach Asterisk only
through a re-render: `asterisk.sh config` reloads (a trunk's addresses), `asterisk.sh restart` is
needed for what PJSIP reads once (a transport's bind address). The tests hold the lab lock, so no
one else sees the changed lab.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

ASTERISK_SH = Path(__file__).resolve().parents[2] / "asterisk" / "lab" / "asterisk.sh"


async def _apply(env: dict[str, str], restart: bool) -> None:
    proc = await asyncio.create_subprocess_exec(
        "bash", str(ASTERISK_SH), "restart" if restart else "config", env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        pytest.fail(f"asterisk.sh with {env} failed ({proc.returncode}):\n{out.decode(errors='replace')}")


@contextlib.asynccontextmanager
async def lab_configured(*, restart: bool = False, **env: str) -> AsyncIterator[None]:
    """Asterisk re-rendered with `env` over the lab's defaults; as before once the block ends."""
    await _apply(env, restart)
    try:
        yield
    finally:
        await _apply({}, restart)
