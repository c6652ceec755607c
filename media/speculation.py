"""Speculative recognition: decode the caller's words in their pause, before the turn is known to be over.

The recogniser starts on the utterance as soon as the caller pauses (`after_s`), while the segmenter's
hang-over is still timing the pause. If the pause becomes the end of the turn, the transcript is ready
or nearly so; if the caller goes on, the result is dropped (the worker finishes it, nobody waits for
it) and the final utterance is decoded as usual. `dropped` counts those wasted decodes: with the STT
seconds in `usage` (speculative decodes cost the same), it says what speculation costs on a trunk.
"""

from __future__ import annotations

import asyncio
from typing import Any

from media.audio import AudioClip
from media.segmenter import SpeechSegmenter
from media.stt import SttEngine, Transcript
from media.usage import CallUsage

__all__ = ["SpeculativeStt"]


class SpeculativeStt:
    """One call's recognition: a guess started in each pause, and the utterance's final transcript."""

    def __init__(self, stt: SttEngine, segmenter: SpeechSegmenter, usage: CallUsage, *,
                 after_s: float | None = 0.1) -> None:
        self._stt = stt
        self._segmenter = segmenter
        self._usage = usage
        self._after_s = after_s  # None: decode only at the end of the utterance
        self._guess: asyncio.Task[Transcript] | None = None
        self.dropped = 0  # decodes started in a pause the caller then talked through

    def after_frame(self, *, agent_speaking: bool) -> None:
        """Decode the utterance so far once the caller pauses; forget it if they go on.

        Not while the agent talks (speech that ends over it never becomes a turn: the decode would be
        wasted), nor while the recogniser is busy (the guess would only queue behind another decode).
        """
        after = self._after_s
        if after is None or not self._segmenter.speaking:
            return
        if self._segmenter.last_frame_speech:
            if self._guess is not None:
                self._guess = None  # stale now; the worker finishes it, nobody waits for it
                self.dropped += 1
            return
        if (self._guess is None and self._segmenter.trailing_silence_s >= after - 1e-9
                and not self._stt.busy and not agent_speaking):
            clip = self._segmenter.utterance()
            if clip is not None:
                self._usage.stt(clip.duration_s)
                self._guess = asyncio.create_task(self._stt.transcribe(clip))
                self._guess.add_done_callback(_consume_exception)

    def forget(self) -> None:
        """A new utterance began: a guess left from the last one is no use to it."""
        self._guess = None

    def take(self) -> asyncio.Task[Transcript] | None:
        """The utterance ended: the guess started in the pause that ended it (it heard all the speech)."""
        guess, self._guess = self._guess, None
        return guess

    async def transcript(self, clip: AudioClip, guess: asyncio.Task[Transcript] | None) -> Transcript:
        """The utterance's transcript: the guess when there is one, else a decode of `clip` now."""
        if guess is not None:
            return await asyncio.shield(guess)  # a resumed caller cancels the turn, not the decode
        self._usage.stt(clip.duration_s)
        return await self._stt.transcribe(clip)


def _consume_exception(task: asyncio.Task[Any]) -> None:
    # A dropped speculative decode may fail unobserved; its failure shows again on the final decode.
    if not task.cancelled():
        task.exception()
