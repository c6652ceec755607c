"""The correction stage between the recogniser and everything that reads its text.

The agent, the end-of-turn rules, the stored transcript and the post-call analysis all read the
transcript the conversation loop gets from its `SttEngine`. Correction therefore wraps the engine:
`CorrectedStt` is itself an `SttEngine`, and each `TranscriptCorrection` step sees the previous
step's result. Steps are per call (a call's vocabulary is its debtor's name, company and amounts),
so the wrapper is built per call around the process-wide recogniser.

The steps, in order (`correction_steps`): hallucinations dropped (`media.stt.steps`), the operator's
replacements, the vocabulary matched by sound, numbers normalised and checked against the debt. Every
change is logged with before and after, and the corrected transcript keeps the raw text
(`Transcript.raw_text`) and the critical words it doubts (`Transcript.doubts`) for the record.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from typing import Protocol

from media.audio import AudioClip
from media.preprocess import AudioPreprocessor
from media.stt.base import SttEngine, Transcript
from media.stt.numbers import CheckNumbers
from media.stt.steps import DropHallucinations, MatchVocabulary, ReplaceHeard
from media.stt.vocabulary import CallVocabulary

__all__ = ["CorrectedStt", "TranscriptCorrection", "correction_steps"]

log = logging.getLogger(__name__)


class TranscriptCorrection(Protocol):
    """One step: the transcript it was given, corrected (or the same object). `name` labels it in logs."""

    name: str

    def correct(self, transcript: Transcript) -> Transcript: ...


def correction_steps(vocabulary: CallVocabulary | None) -> tuple[TranscriptCorrection, ...]:
    """The whole stage for a call with this vocabulary (None: only what needs no vocabulary)."""
    vocabulary = vocabulary or CallVocabulary()
    return (DropHallucinations(), ReplaceHeard(vocabulary.corrections.replace),
            MatchVocabulary(vocabulary), CheckNumbers(vocabulary))


class CorrectedStt:
    """`engine`'s transcripts passed through `steps`, in order; Whisper is prompted with `prompt`."""

    def __init__(self, engine: SttEngine, steps: Sequence[TranscriptCorrection] = (), *,
                 prompt: str | None = None, preprocess: AudioPreprocessor | None = None) -> None:
        self.engine = engine
        self.steps = tuple(steps)
        self.prompt = prompt
        # Noise suppression / level before the recogniser (off by default: measured, it cost words).
        self.preprocess = preprocess if preprocess is not None and not preprocess.is_noop else None
        self.corrected = 0  # transcripts a step changed: many in a call marks its live transcript weak

    @classmethod
    def for_call(cls, engine: SttEngine, vocabulary: CallVocabulary | None,
                 preprocess: AudioPreprocessor | None = None, *, prompt_names: bool = False) -> CorrectedStt:
        """The stage for one call; ``prompt_names``: the call's names are Whisper's prompt too."""
        prompt = vocabulary.prompt() if vocabulary is not None and prompt_names else None
        return cls(engine, correction_steps(vocabulary), prompt=prompt, preprocess=preprocess)

    @property
    def busy(self) -> bool:
        return self.engine.busy

    async def transcribe(self, clip: AudioClip, *, prompt: str | None = None) -> Transcript:
        if self.preprocess is not None:  # CPU work (rnnoise ~56 ms per audio second): off the loop
            clip = await asyncio.to_thread(self.preprocess.process, clip)
        heard = await self.engine.transcribe(clip, prompt=prompt or self.prompt)
        return self.apply(heard)

    def apply(self, heard: Transcript) -> Transcript:
        """The steps over one transcript (also what the CLI and the benchmarks run on a decoded file)."""
        transcript = heard
        for step in self.steps:
            corrected = step.correct(transcript)
            if corrected.text != transcript.text or corrected.doubts != transcript.doubts:
                log.info("stt correction %s: %r -> %r%s", step.name, transcript.text, corrected.text,
                         f" doubts={list(corrected.doubts)}" if corrected.doubts else "")
            transcript = corrected
        if transcript.text == heard.text and not transcript.doubts:
            return heard
        self.corrected += 1
        return dataclasses.replace(transcript, raw_text=heard.text)
