"""Leaving a message on an answering machine: speak after its greeting and beep, not over them.

Detection (Asterisk's AMD) decides *that* a machine answered about 1.5 s into its greeting;
a message played then would be recorded from the middle, or not at all. `LineQuiet` watches the
line's level and says when the greeting and the beep are over: a second of quiet.
"""

from __future__ import annotations

import asyncio

import numpy as np

from media.vad import rms_dbfs


class LineQuiet:
    def __init__(self, *, floor_dbfs: float = -40.0) -> None:
        self.floor_dbfs = floor_dbfs
        self._loop = asyncio.get_running_loop()
        self._last_sound = self._loop.time()

    def feed(self, pcm: np.ndarray) -> None:
        """One frame from the line (synchronous, from the RTP callback)."""
        if rms_dbfs(pcm) > self.floor_dbfs:
            self._last_sound = self._loop.time()

    async def wait(self, quiet_s: float = 1.0, timeout_s: float = 20.0) -> bool:
        """True once the line has been quiet for `quiet_s`; False if it never was within `timeout_s`
        (a greeting that goes on and on: the caller speaks anyway, some recording beats none)."""
        deadline = self._loop.time() + timeout_s
        while (now := self._loop.time()) < deadline:
            if now - self._last_sound >= quiet_s:
                return True
            await asyncio.sleep(0.05)
        return False
