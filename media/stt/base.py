"""What a recogniser is to the rest of the pipeline: the protocol, its result and its error."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from media.audio import AudioClip
from media.responder import UNCLEAR_AMOUNT

__all__ = ["UNCLEAR_AMOUNT", "SttEngine", "SttModelError", "Transcript", "Word"]


class SttModelError(RuntimeError):
    """The speech model is missing, corrupt or failed to load."""


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word and how sure the recogniser was of it: the lowest probability of its tokens
    (a word is as doubtful as its weakest piece: "14" + "," + "5" + "50")."""

    text: str
    probability: float


@dataclass(frozen=True)
class Transcript:
    """One recognition result.

    ``confidence`` is in [0, 1]: ``exp(mean avg_logprob) * (1 - max no_speech_prob)`` over the segments,
    i.e. the geometric-mean token probability discounted by Whisper's own "this was not speech" estimate.
    It is a ranking hint (re-ask when low), not a calibrated probability. Empty text has confidence 0.
    ``audio_s`` is the length of audio decoded; ``decode_s`` the wall time of the decode (0 when skipped).
    ``words``: per-word probabilities when the recogniser gives them (greedy Whisper does), else empty.
    ``raw_text``: what the recogniser said before the correction stage changed it (None: unchanged).
    ``doubts``: critical words (amounts, dates, RUTs) the correction stage did not trust, with why.
    """

    text: str
    language: str
    confidence: float
    audio_s: float
    decode_s: float
    words: tuple[Word, ...] = ()
    raw_text: str | None = None
    doubts: tuple[str, ...] = field(default=())


@runtime_checkable
class SttEngine(Protocol):
    async def transcribe(self, clip: AudioClip, *, prompt: str | None = None) -> Transcript:
        """``prompt``: words this call is likely to hear (the debtor's name, the company), to bias the decoder."""
        ...

    @property
    def busy(self) -> bool:
        """A decode is running (the next one would queue behind it)."""
        ...
