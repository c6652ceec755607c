"""Voice activity detection: a small protocol, the WebRTC implementation, and offline segmentation.

The protocol lets the live path swap detectors without touching callers: :func:`make_vad` builds
Silero (the default: neural, robust to noise) or WebRTC (the cheap alternative, ~20 us per frame).
:func:`speech_segments` / :func:`speech_span` work on whole recordings; tests use them to find the
agent's greeting in what the far phone recorded and to measure when it started and how long it was.
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import numpy as np
import webrtcvad

from media.audio import AudioClip, as_int16, frames
from media.vad_silero import SileroVad

__all__ = [
    "DEFAULT_VAD",
    "VAD_NAMES",
    "SileroVad",
    "VoiceActivityDetector",
    "WebRtcVad",
    "make_vad",
    "rms_dbfs",
    "speech_segments",
    "speech_span",
]

#: Rates every detector here is expected to handle; other clips are resampled to 16 kHz first.
_ANALYSIS_RATES = (8000, 16000)


@runtime_checkable
class VoiceActivityDetector(Protocol):
    """Says whether one short frame (10/20/30 ms) of int16 audio contains speech."""

    def is_speech(self, frame: np.ndarray, sample_rate: int) -> bool: ...


class WebRtcVad:
    """WebRTC's GMM VAD (15-20 us per frame).

    LAB.md: with 30 ms frames plus noise it fired ~0.5 s early on some files, with 20 ms frames it
    was fine, so 20 ms is the default everywhere. ``aggressiveness`` 0..3: higher rejects more
    noise but clips soft word onsets.
    """

    VALID_RATES = (8000, 16000, 32000, 48000)
    VALID_FRAME_MS = (10, 20, 30)

    def __init__(self, aggressiveness: int = 2) -> None:
        if aggressiveness not in (0, 1, 2, 3):
            raise ValueError(f"aggressiveness must be 0..3, got {aggressiveness}")
        self.aggressiveness = aggressiveness
        self._vad = webrtcvad.Vad(aggressiveness)

    def is_speech(self, frame: np.ndarray, sample_rate: int) -> bool:
        if sample_rate not in self.VALID_RATES:
            raise ValueError(f"WebRTC VAD supports {self.VALID_RATES} Hz, got {sample_rate}")
        pcm = as_int16(frame)
        if len(pcm) * 1000 not in tuple(ms * sample_rate for ms in self.VALID_FRAME_MS):
            raise ValueError(f"WebRTC VAD needs 10/20/30 ms frames, got {len(pcm)} samples at {sample_rate}")
        return bool(self._vad.is_speech(pcm.astype("<i2").tobytes(), sample_rate))


#: Names accepted by :func:`make_vad`. Silero is the default: LAB.md measured it right on 28/28
#: noisy files at 0.16-0.31 ms per frame, while WebRTC fired up to 0.5 s early in noise.
VAD_NAMES = ("silero", "webrtc")
DEFAULT_VAD = "silero"


def make_vad(name: str = DEFAULT_VAD, sample_rate: int | None = None) -> VoiceActivityDetector:
    """A fresh detector by name ("silero" | "webrtc"); one per audio stream, Silero is stateful.

    With ``sample_rate`` the detector is primed for that rate: Silero's first inference builds its
    ONNX session (~100 ms measured), which must happen here (call this in a worker thread), not on
    the first frame of a live call, where it would hold up every call's 20 ms clock.
    """
    key = name.strip().lower()
    vad: VoiceActivityDetector
    if key == "silero":
        vad = SileroVad()
    elif key == "webrtc":
        vad = WebRtcVad()
    else:
        raise ValueError(f"unknown VAD {name!r}; expected one of {', '.join(VAD_NAMES)}")
    if sample_rate is not None:
        for _ in range(2):  # Silero runs once per 32 ms window: two 20 ms frames fill one
            vad.is_speech(np.zeros(sample_rate // 50, dtype=np.int16), sample_rate)
        reset = getattr(vad, "reset", None)
        if callable(reset):
            reset()
    return vad


def rms_dbfs(pcm: np.ndarray) -> float:
    """RMS level relative to full scale (32768): a full-scale sine is about -3 dBFS; silence -inf."""
    x = as_int16(pcm)
    if len(x) == 0:
        return -math.inf
    rms = math.sqrt(float(np.mean(np.square(x, dtype=np.float64))))
    return 20.0 * math.log10(rms / 32768.0) if rms > 0 else -math.inf


def speech_segments(
    clip: AudioClip,
    vad: VoiceActivityDetector | None = None,
    frame_ms: int = 20,
    min_speech_ms: int = 120,
    hangover_ms: int = 300,
) -> list[tuple[float, float]]:
    """Speech regions of ``clip`` as ``(start_s, end_s)``.

    Speech frames separated by less than ``hangover_ms`` of non-speech are merged (pauses between
    words are not the end of an utterance); a merged region is kept only when it holds at least
    ``min_speech_ms`` of speech frames (isolated noise blips are dropped). Boundaries are those of
    the first and last speech frame, not padded by the hang-over, so durations can be measured.
    """
    # Offline measurement keeps WebRTC as its default on purpose: Silero marks ends 150-170 ms late
    # (its recurrent state decays slowly), which is harmless live but skews measured durations.
    vad = vad if vad is not None else WebRtcVad()
    reset = getattr(vad, "reset", None)
    if callable(reset):  # stateful detectors (Silero) must not carry one clip into the next
        reset()
    if clip.sample_rate not in _ANALYSIS_RATES:
        clip = clip.resampled(16000)
    rate = clip.sample_rate
    frame_samples = rate * frame_ms // 1000
    frame_s = frame_samples / rate
    flags = [vad.is_speech(f, rate) for f in frames(clip.pcm, frame_samples)]
    max_gap = hangover_ms / 1000.0
    min_frames = math.ceil(min_speech_ms / (frame_s * 1000.0) - 1e-9)

    segments: list[tuple[float, float]] = []
    start = end = -1.0
    count = 0
    for i, speech in enumerate(flags):
        if not speech:
            continue
        t = i * frame_s
        if count and t - end < max_gap:
            end, count = t + frame_s, count + 1
            continue
        if count >= min_frames:
            segments.append((start, end))
        start, end, count = t, t + frame_s, 1
    if count >= min_frames:
        segments.append((start, min(end, clip.duration_s)))
    return segments


def speech_span(
    clip: AudioClip, vad: VoiceActivityDetector | None = None, **kwargs: int
) -> tuple[float, float] | None:
    """From the start of the first speech segment to the end of the last, or None if no speech."""
    segments = speech_segments(clip, vad, **kwargs)
    if not segments:
        return None
    return segments[0][0], segments[-1][1]
