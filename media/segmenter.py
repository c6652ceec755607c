"""Streaming speech segmentation: 20 ms frames in, typed start/end events out.

The live call loop feeds every received frame to :meth:`SpeechSegmenter.push` with its stream time;
the segmenter turns the per-frame VAD flags into utterances:

* ``SpeechStarted`` only after ``min_speech_ms`` of (nearly) consecutive speech, so a cough, a
  click or a burst of line noise does not barge in on the agent;
* ``SpeechEnded`` after ``hangover_ms`` without speech, so a pause inside a word or between two
  words does not cut the caller off (the *turn* decision, which also looks at the words, is
  :mod:`media.turn`'s job and may wait longer still);
* the utterance audio, including ``preroll_ms`` from before the detected onset (VADs fire 30-50
  ms late and the first consonant is quiet), so the recogniser hears the first syllable.

Event times are stream times of the audio itself (where the speech was), not of the detection;
``detected_s`` says when the event could be known, which is what latency measurements need.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from media.audio import AudioClip, as_int16
from media.vad import VoiceActivityDetector, make_vad

__all__ = ["SegmenterEvent", "SpeechEnded", "SpeechSegmenter", "SpeechStarted"]

#: How far under the utterance's loudest frame speech still counts as heard (a phone's meter at -38 dBFS
#: against telephone speech at -18..-28 dBFS is 10-20 dB under it).
AUDIBLE_BELOW_PEAK_DB = 20.0


@dataclass(frozen=True)
class SpeechStarted:
    """Speech began at ``at_s`` (start of its first speech frame); known at ``detected_s``."""

    at_s: float
    detected_s: float


@dataclass(frozen=True)
class SpeechEnded:
    """Speech ended at ``at_s`` (end of its last speech frame) after ``duration_s``.

    ``forced`` is True when the utterance hit ``max_utterance_s`` rather than a pause.
    """

    at_s: float
    duration_s: float
    detected_s: float
    forced: bool = False
    # Where a listener hears the speech end: the last frame within `AUDIBLE_BELOW_PEAK_DB` of the
    # utterance's loudest. Silero's `at_s` comes 60-200 ms later (measured against the phone's line),
    # so latency is timed from here; the end-of-turn waits keep counting from `at_s`.
    heard_end_s: float | None = None


SegmenterEvent = SpeechStarted | SpeechEnded


class SpeechSegmenter:
    """Per-call-leg state machine (idle -> speaking -> idle); not shared between calls.

    ``max_gap_ms`` is how much non-speech may interrupt the onset run before it no longer counts
    as one: VADs drop single frames inside voiced sounds, and demanding strictly consecutive
    frames would delay onsets on real speech while a click is still far shorter than
    ``min_speech_ms`` of speech frames.
    """

    def __init__(
        self,
        vad: VoiceActivityDetector | None = None,
        sample_rate: int = 8000,
        *,
        min_speech_ms: int = 200,
        hangover_ms: int = 300,
        preroll_ms: int = 200,
        max_gap_ms: int = 60,
        max_utterance_s: float = 30.0,
    ) -> None:
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        for name, value in (
            ("min_speech_ms", min_speech_ms),
            ("hangover_ms", hangover_ms),
            ("preroll_ms", preroll_ms),
            ("max_gap_ms", max_gap_ms),
        ):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        if max_utterance_s <= 0:
            raise ValueError(f"max_utterance_s must be positive, got {max_utterance_s}")
        self.vad = vad if vad is not None else make_vad()
        self.sample_rate = sample_rate
        self.min_speech_s = min_speech_ms / 1000.0
        self.hangover_s = hangover_ms / 1000.0
        self.preroll_s = preroll_ms / 1000.0
        self.max_gap_s = max_gap_ms / 1000.0
        self.max_utterance_s = max_utterance_s
        self._speaking = False
        self.last_frame_speech = False  # the VAD's verdict on the latest frame (for barge-in onsets)
        # Onset candidate (while idle): first speech frame time, speech seconds so far, last speech end.
        self._cand_start: float | None = None
        self._cand_speech = 0.0
        self._last_speech_end = 0.0
        self._start = 0.0
        # Recent (time, frame) pairs while idle: enough for the pre-roll plus an onset run.
        self._history: deque[tuple[float, np.ndarray]] = deque()
        self._utterance: list[np.ndarray] = []
        self._utterance_start = 0.0
        self._last_clip: AudioClip | None = None
        self._now_end = 0.0  # stream time at the end of the latest frame

    @property
    def speaking(self) -> bool:
        return self._speaking

    @property
    def trailing_silence_s(self) -> float:
        """While speaking: how long since the last speech frame (the pause the hang-over is timing)."""
        return self._now_end - self._last_speech_end if self._speaking else 0.0

    def push(self, frame: np.ndarray, now_s: float) -> list[SegmenterEvent]:
        """Feed one frame starting at stream time ``now_s``; return the events it completes."""
        pcm = as_int16(frame).copy()
        frame_s = len(pcm) / self.sample_rate
        end_s = self._now_end = now_s + frame_s
        speech = self.vad.is_speech(pcm, self.sample_rate)
        self.last_frame_speech = speech
        events: list[SegmenterEvent] = []
        if self._speaking:
            self._utterance.append(pcm)
            if speech:
                self._last_speech_end = end_s
            if end_s - self._last_speech_end >= self.hangover_s - 1e-9:
                events.append(self._end(end_s, forced=False))
            elif end_s - self._start >= self.max_utterance_s:
                self._last_speech_end = end_s
                events.append(self._end(end_s, forced=True))
            return events

        self._remember(now_s, pcm, frame_s)
        if speech:
            if self._cand_start is None or now_s - self._last_speech_end > self.max_gap_s + 1e-9:
                self._cand_start, self._cand_speech = now_s, 0.0
            self._cand_speech += frame_s
            self._last_speech_end = end_s
            if self._cand_speech >= self.min_speech_s - 1e-9:
                events.append(self._begin(end_s))
        elif self._cand_start is not None and end_s - self._last_speech_end > self.max_gap_s + 1e-9:
            self._cand_start = None
        return events

    def _remember(self, now_s: float, pcm: np.ndarray, frame_s: float) -> None:
        self._history.append((now_s, pcm))
        keep = math.ceil((self.preroll_s + self.min_speech_s + 2 * self.max_gap_s) / max(frame_s, 1e-6)) + 2
        while len(self._history) > keep:
            self._history.popleft()

    def _begin(self, detected_s: float) -> SpeechStarted:
        assert self._cand_start is not None
        self._speaking = True
        self._start = self._cand_start
        first = self._cand_start - self.preroll_s - 1e-9
        kept = [(t, f) for t, f in self._history if t >= first]
        self._utterance = [f for _, f in kept]
        self._utterance_start = kept[0][0] if kept else self._start
        self._history.clear()
        self._cand_start = None
        return SpeechStarted(at_s=self._start, detected_s=detected_s)

    def _end(self, detected_s: float, *, forced: bool) -> SpeechEnded:
        self._speaking = False
        self._last_clip = self._clip()
        self._utterance = []
        at = self._last_speech_end
        return SpeechEnded(at_s=at, duration_s=at - self._start, detected_s=detected_s, forced=forced,
                           heard_end_s=self._heard_end(at))

    def _heard_end(self, vad_end: float) -> float:
        clip = self._last_clip
        if clip is None or len(clip.pcm) == 0:
            return vad_end
        frame = max(1, round(0.02 * self.sample_rate))
        n = len(clip.pcm) // frame
        if n == 0:
            return vad_end
        x = clip.pcm[: n * frame].astype(np.float64).reshape(n, frame)
        level = 10 * np.log10(np.mean(x * x, axis=1) + 1.0)
        ends = self._utterance_start + (np.arange(n) + 1) * frame / self.sample_rate
        loud = np.flatnonzero((level >= level.max() - AUDIBLE_BELOW_PEAK_DB) & (ends <= vad_end + 1e-9))
        return min(vad_end, float(ends[loud[-1]])) if len(loud) else vad_end

    def _clip(self) -> AudioClip:
        pcm = np.concatenate(self._utterance) if self._utterance else np.zeros(0, dtype=np.int16)
        return AudioClip(pcm, self.sample_rate)

    def utterance(self) -> AudioClip | None:
        """Audio of the utterance in progress, else of the last finished one, else None.

        It starts ``preroll_ms`` before the detected onset (less if the stream began later) and a
        finished one runs through the hang-over (trailing silence helps recognisers, not hurts).
        """
        if self._speaking:
            return self._clip()
        return self._last_clip

    @property
    def utterance_start_s(self) -> float:
        """Stream time of the first sample of :meth:`utterance` (i.e. onset minus pre-roll)."""
        return self._utterance_start

    def reset(self) -> None:
        """Drop all state (e.g. when the agent starts a new prompt on a fresh stream)."""
        reset = getattr(self.vad, "reset", None)
        if callable(reset):
            reset()
        self._speaking = False
        self._cand_start = None
        self._cand_speech = 0.0
        self._last_speech_end = 0.0
        self._history.clear()
        self._utterance = []
        self._last_clip = None
        self._now_end = 0.0
