"""SpeechSegmenter state machine: onsets need min_speech_ms, ends need hangover_ms, pre-roll is kept.

The exact-timing tests use a simple energy detector (a real detector, not a stand-in: speech is any
frame louder than -40 dBFS) so that expected event times are exact; the last test runs the real
default detector (Silero) on espeak-ng Spanish speech.
"""

from __future__ import annotations

import numpy as np
import pytest

from media.audio import AudioClip, frames
from media.segmenter import SpeechEnded, SpeechSegmenter, SpeechStarted
from media.vad import rms_dbfs

RATE = 8000
FRAME = RATE // 50  # 20 ms


class EnergyVad:
    def is_speech(self, frame: np.ndarray, sample_rate: int) -> bool:
        return rms_dbfs(frame) > -40.0


def _signal(total_s: float, loud: list[tuple[float, float]], seed: int = 3) -> np.ndarray:
    """Quiet noise (-60 dBFS) with loud noise bursts (-15 dBFS) in the given [start, end) spans."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 32.0, int(total_s * RATE))
    for a, b in loud:
        i, j = round(a * RATE), round(b * RATE)
        x[i:j] = rng.normal(0.0, 5800.0, j - i)
    return np.clip(x, -32768, 32767).astype(np.int16)


def _run(seg: SpeechSegmenter, pcm: np.ndarray) -> list[SpeechStarted | SpeechEnded]:
    events: list[SpeechStarted | SpeechEnded] = []
    for i, frame in enumerate(frames(pcm, FRAME)):
        events.extend(seg.push(frame, i * FRAME / RATE))
    return events


def _r(x: float) -> float:
    return round(x, 3)


def test_a_60_ms_click_is_not_speech() -> None:
    seg = SpeechSegmenter(EnergyVad(), RATE)
    assert _run(seg, _signal(2.0, [(0.5, 0.56), (1.3, 1.36)])) == []
    assert seg.utterance() is None


def test_two_utterances_700_ms_apart_give_start_and_end_at_the_right_times() -> None:
    seg = SpeechSegmenter(EnergyVad(), RATE, min_speech_ms=200, hangover_ms=300)
    events = _run(seg, _signal(4.0, [(0.5, 1.5), (2.2, 3.0)]))
    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded, SpeechStarted, SpeechEnded]
    s0, e0, s1, e1 = events
    assert isinstance(s0, SpeechStarted) and isinstance(e0, SpeechEnded)
    assert isinstance(s1, SpeechStarted) and isinstance(e1, SpeechEnded)
    assert (_r(s0.at_s), _r(s0.detected_s)) == (0.5, 0.7)  # known after min_speech_ms
    assert (_r(e0.at_s), _r(e0.duration_s), _r(e0.detected_s)) == (1.5, 1.0, 1.8)  # after hangover
    assert (_r(s1.at_s), _r(s1.detected_s)) == (2.2, 2.4)
    assert (_r(e1.at_s), _r(e1.duration_s), _r(e1.detected_s)) == (3.0, 0.8, 3.3)
    assert not e0.forced and not seg.speaking


def test_utterance_audio_keeps_the_pre_roll() -> None:
    pcm = _signal(3.0, [(1.0, 2.0)])
    seg = SpeechSegmenter(EnergyVad(), RATE, preroll_ms=200)
    events = _run(seg, pcm)
    assert len(events) == 2
    clip = seg.utterance()
    assert clip is not None and clip.sample_rate == RATE
    assert _r(seg.utterance_start_s) == 0.8
    # From 0.8 s (onset minus pre-roll) through the hang-over: 2.3 s.
    assert clip.duration_s == pytest.approx(1.5, abs=1e-9)
    np.testing.assert_array_equal(clip.pcm, pcm[int(0.8 * RATE) : int(2.3 * RATE)])
    assert rms_dbfs(clip.pcm[: int(0.2 * RATE)]) < -50  # the pre-roll is the quiet lead-in
    assert rms_dbfs(clip.pcm[int(0.2 * RATE) : int(0.4 * RATE)]) > -20


def test_utterance_in_progress_is_available() -> None:
    seg = SpeechSegmenter(EnergyVad(), RATE)
    _run(seg, _signal(1.0, [(0.3, 1.0)]))
    assert seg.speaking
    clip = seg.utterance()
    assert isinstance(clip, AudioClip) and clip.duration_s == pytest.approx(0.9)


@pytest.mark.parametrize(("hangover_ms", "utterances"), [(300, 1), (100, 2)])
def test_a_200_ms_pause_inside_a_word_does_not_end_it(hangover_ms: int, utterances: int) -> None:
    seg = SpeechSegmenter(EnergyVad(), RATE, hangover_ms=hangover_ms)
    events = _run(seg, _signal(3.0, [(0.5, 1.0), (1.2, 1.8)]))
    ends = [e for e in events if isinstance(e, SpeechEnded)]
    assert len(ends) == utterances
    if utterances == 1:
        assert _r(ends[0].at_s) == 1.8 and _r(ends[0].duration_s) == 1.3


def test_single_dropped_frames_do_not_reset_the_onset() -> None:
    # 240 ms of speech with a 20 ms hole: still one onset at 0.5 s, not at 0.64 s.
    events = _run(SpeechSegmenter(EnergyVad(), RATE), _signal(1.5, [(0.5, 0.62), (0.64, 0.76)]))
    assert isinstance(events[0], SpeechStarted) and _r(events[0].at_s) == 0.5


def test_overlong_utterances_are_cut() -> None:
    seg = SpeechSegmenter(EnergyVad(), RATE, max_utterance_s=1.0)
    events = _run(seg, _signal(2.0, [(0.2, 2.0)]))
    ended = [e for e in events if isinstance(e, SpeechEnded)]
    assert ended and ended[0].forced and _r(ended[0].at_s) == 1.2


def test_events_are_frozen() -> None:
    with pytest.raises(AttributeError):
        SpeechStarted(1.0, 1.2).at_s = 2.0  # type: ignore[misc]


def test_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        SpeechSegmenter(EnergyVad(), RATE, hangover_ms=-1)
    with pytest.raises(ValueError):
        SpeechSegmenter(EnergyVad(), 0)
