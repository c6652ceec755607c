"""The correction stage between the recogniser and everything that reads its text.

The agent, the end-of-turn rules, the stored transcript and the post-call analysis all read the
transcript the conversation loop gets from its `SttEngine`. Correction therefore wraps the engine:
`CorrectedStt` is itself an `SttEngine`, and each `TranscriptCorrection` step sees the previous
step's result. Steps are per call (a call's vocabulary is its debtor's name, company and amounts),
so the wrapper is built per call around the process-wide recogniser.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Protocol

from media.audio import AudioClip
from media.stt.base import SttEngine, Transcript

__all__ = ["CorrectedStt", "TranscriptCorrection"]

log = logging.getLogger(__name__)


class TranscriptCorrection(Protocol):
    """One step: the text it was given, corrected (or unchanged). `name` labels it in the logs."""

    name: str

    def correct(self, text: str) -> str: ...


class CorrectedStt:
    """`engine`'s transcripts passed through `steps`, in order; the raw text is kept in the logs."""

    def __init__(self, engine: SttEngine, steps: Sequence[TranscriptCorrection] = ()) -> None:
        self.engine = engine
        self.steps = tuple(steps)

    @property
    def busy(self) -> bool:
        return self.engine.busy

    async def transcribe(self, clip: AudioClip) -> Transcript:
        transcript = await self.engine.transcribe(clip)
        text = transcript.text
        for step in self.steps:
            corrected = step.correct(text)
            if corrected != text:
                log.info("stt correction %s: %r -> %r", step.name, text, corrected)
                text = corrected
        return transcript if text == transcript.text else dataclasses.replace(transcript, text=text)
