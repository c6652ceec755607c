"""Stand-in speech engines for unit tests of the conversation's stages: fast, deterministic, no models.

Audio is a tone at a known level, so what barge-in and the VAD decide follows from the numbers alone.
"""

from __future__ import annotations

import asyncio
import math

import numpy as np

from media.audio import AudioClip
from media.stt import Transcript
from media.vad import rms_dbfs

RATE = 8000
FRAME = 160  # 20 ms at 8 kHz


def tone(seconds: float, dbfs: float = -20.0, rate: int = RATE) -> np.ndarray:
    """A 440 Hz tone whose RMS level is `dbfs` (silence for -inf)."""
    n = round(seconds * rate)
    if dbfs == -math.inf:
        return np.zeros(n, dtype=np.int16)
    peak = 32768 * 10 ** (dbfs / 20) * math.sqrt(2)
    return (peak * np.sin(2 * np.pi * 440 * np.arange(n) / rate)).astype(np.int16)


def frames(pcm: np.ndarray) -> list[np.ndarray]:
    return [pcm[i : i + FRAME] for i in range(0, len(pcm) - FRAME + 1, FRAME)]


class EnergyVad:
    """Speech is anything louder than -40 dBFS."""

    def is_speech(self, frame: np.ndarray, sample_rate: int) -> bool:
        return rms_dbfs(frame) > -40


class ToneTts:
    """Each sentence is `seconds_per_char` of tone per character, at `dbfs`, after `delay_s` of work."""

    name = "tone"

    def __init__(self, *, seconds_per_char: float = 0.02, dbfs: float = -20.0, delay_s: float = 0.01) -> None:
        self.seconds_per_char = seconds_per_char
        self.dbfs = dbfs
        self.delay_s = delay_s
        self.asked: list[tuple[str, float]] = []  # (text, loop time the synthesis started)

    async def synthesize(self, text: str) -> AudioClip:
        self.asked.append((text, asyncio.get_running_loop().time()))
        await asyncio.sleep(self.delay_s)
        return AudioClip(tone(len(text) * self.seconds_per_char, self.dbfs), RATE)


class ScriptedStt:
    """Hears `text` in whatever it is given, after `delay_s`; `busy` while a decode runs."""

    def __init__(self, text: str = "sí", delay_s: float = 0.05) -> None:
        self.text = text
        self.delay_s = delay_s
        self.clips: list[AudioClip] = []
        self._running = 0

    @property
    def busy(self) -> bool:
        return self._running > 0

    async def transcribe(self, clip: AudioClip, *, prompt: str | None = None) -> Transcript:
        self.clips.append(clip)
        self._running += 1
        try:
            await asyncio.sleep(self.delay_s)
        finally:
            self._running -= 1
        return Transcript(self.text, "es", 0.9, clip.duration_s, self.delay_s)
