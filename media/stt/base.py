"""What a recogniser is to the rest of the pipeline: the protocol, its result and its error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from media.audio import AudioClip

__all__ = ["SttEngine", "SttModelError", "Transcript"]


class SttModelError(RuntimeError):
    """The speech model is missing, corrupt or failed to load."""


@dataclass(frozen=True)
class Transcript:
    """One recognition result.

    ``confidence`` is in [0, 1]: ``exp(mean avg_logprob) * (1 - max no_speech_prob)`` over the segments,
    i.e. the geometric-mean token probability discounted by Whisper's own "this was not speech" estimate.
    It is a ranking hint (re-ask when low), not a calibrated probability. Empty text has confidence 0.
    ``audio_s`` is the length of audio decoded; ``decode_s`` the wall time of the decode (0 when skipped).
    """

    text: str
    language: str
    confidence: float
    audio_s: float
    decode_s: float


@runtime_checkable
class SttEngine(Protocol):
    async def transcribe(self, clip: AudioClip) -> Transcript: ...

    @property
    def busy(self) -> bool:
        """A decode is running (the next one would queue behind it)."""
        ...
