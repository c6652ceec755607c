"""Prosody cues on real synthesised speech and on tones of known pitch; the turn rules that use them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from media.audio import AudioClip, read_wav
from media.prosody import ProsodyCues, pitch_track, prosody_cues
from media.turn import TurnDetector

SET = Path(__file__).resolve().parents[2] / "bench" / "turn_endings"
SR = 8000


def _labels() -> list[dict]:
    return json.loads((SET / "labels.json").read_text(encoding="utf-8"))


def _clip(kind: str, label: str) -> AudioClip:
    item = next(i for i in _labels() if i["kind"] == kind and i["label"] == label)
    return read_wav(SET / item["file"])


def _glide(start_hz: float, rise_st: float, flat_s: float = 0.8, glide_s: float = 0.6) -> AudioClip:
    """A harmonic-rich tone: level for flat_s, then an exponential glide up by rise_st semitones."""
    t = np.arange(int((flat_s + glide_s) * SR)) / SR
    f = start_hz * 2 ** (np.clip(t - flat_s, 0, None) / glide_s * rise_st / 12)
    phase = 2 * np.pi * np.cumsum(f) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 6))
    return AudioClip((x / np.abs(x).max() * 12000).astype(np.int16), SR)


def test_kokoro_question_rises_and_statement_does_not():
    question = prosody_cues(_clip("question_bent", "question"))
    statement = prosody_cues(_clip("statement", "finished"))
    assert question.rising, question
    assert not statement.rising, statement
    assert question.final_st > statement.final_st + 2.0


def test_cut_sentence_is_not_fading():
    cues = prosody_cues(_clip("cut", "unfinished"))
    assert not cues.fading, cues


@pytest.mark.parametrize("rise_st", [0.0, 3.0, 6.0])
def test_glide_rise_measured_within_a_semitone(rise_st):
    clip = _glide(140.0, rise_st)
    track = pitch_track(clip)
    f0 = track.f0_hz[~np.isnan(track.f0_hz)]
    assert abs(12 * np.log2(np.median(f0[:20]) / 140.0)) < 0.5  # level part: right pitch
    end = track.f0_hz[(track.times_s > clip.duration_s - 0.08) & ~np.isnan(track.f0_hz)]
    measured = 12 * np.log2(np.median(end) / 140.0)
    # the last frames' median lags the glide's end a little: compare with the pitch 40 ms earlier
    expected = rise_st * (0.6 - 0.04) / 0.6
    assert abs(measured - expected) < 1.0, (measured, expected)
    cues = prosody_cues(clip)
    assert cues.pitch == ("rising" if rise_st >= 3 else "flat"), cues


def test_glide_above_an_octave_is_not_folded():
    cues = prosody_cues(_glide(120.0, 10.0, glide_s=0.5))
    assert cues.rising and cues.final_st > 5.0, cues


@pytest.mark.parametrize("n", [0, 10, 239, 8000])
def test_silence_has_no_pitch_and_does_not_crash(n):
    cues = prosody_cues(AudioClip(np.zeros(n, np.int16), SR))
    assert cues.pitch == "unknown" and cues.final_st is None and cues.voiced_frames == 0


def test_none_clip_and_known_pause():
    assert prosody_cues(None).pitch == "unknown"
    assert prosody_cues(None, pause_s=0.7).pause_s == 0.7


def test_trailing_silence_is_the_pause():
    clip = _glide(150.0, 0.0)
    padded = AudioClip(np.concatenate([clip.pcm, np.zeros(int(0.3 * SR), np.int16)]), SR)
    assert prosody_cues(padded).pause_s == pytest.approx(0.3, abs=0.03)


def test_fast_enough():
    clip = _glide(150.0, 3.0, flat_s=2.4, glide_s=0.6)  # 3 s, all voiced: the worst case
    prosody_cues(clip)
    best = min(_timed(clip) for _ in range(5))
    assert best / clip.duration_s < 0.005  # 5 ms per s of audio, with room for a loaded CI box


def _timed(clip: AudioClip) -> float:
    start = time.perf_counter()
    prosody_cues(clip)
    return time.perf_counter() - start


def _cues(pitch="flat", energy="even", pause_s=0.6) -> ProsodyCues:
    st = {"rising": 4.0, "falling": -4.0, "flat": 0.0, "unknown": None}[pitch]
    return ProsodyCues(pitch, st, energy, -8.0 if energy == "fading" else 0.0, pause_s, 1.5, 100)


DETECTOR = TurnDetector()


def test_no_cues_is_the_text_decision():
    for text in ("le pago el viernes", "ya pagué pero", "es que yo pagué el", "sí", "doce millones"):
        assert DETECTOR.decide(text, None) == DETECTOR.decide(text)


def test_rising_complete_text_is_a_question_answered_sooner():
    decision = DETECTOR.decide("le pago el viernes", _cues("rising"))
    assert decision.complete and decision.reason == "complete+rising"
    assert decision.wait_s <= DETECTOR.complete_wait_s


def test_connector_with_closed_voice_and_long_pause_is_answered_sooner():
    decision = DETECTOR.decide("no tengo trabajo, así que", _cues("falling", "fading", pause_s=0.6))
    assert decision.complete and decision.reason == "connector+falling_fading"
    assert decision.wait_s < DETECTOR.incomplete_wait_s


@pytest.mark.parametrize("cues", [_cues("falling", "fading", pause_s=0.3), _cues("falling", "even"),
                                  _cues("flat", "fading"), _cues("falling", "fading", pause_s=None)])
def test_connector_needs_all_three_cues(cues):
    assert DETECTOR.decide("ya pagué pero", cues) == DETECTOR.decide("ya pagué pero")


def test_function_word_is_never_shortened_by_prosody():
    decision = DETECTOR.decide("es que yo pagué el", _cues("falling", "fading", pause_s=2.0))
    assert not decision.complete and decision.reason == "function_word"


def test_level_abrupt_complete_text_waits_longer():
    decision = DETECTOR.decide("le pago el viernes", _cues("flat", "abrupt"))
    assert not decision.complete and decision.reason == "complete+level_abrupt"
    assert decision.wait_s > DETECTOR.complete_wait_s


def test_answer_words_and_numbers_ignore_prosody():
    for text in ("sí", "doce millones"):
        for cues in (_cues("rising"), _cues("flat", "abrupt"), _cues("falling", "fading")):
            assert DETECTOR.decide(text, cues) == DETECTOR.decide(text)


def test_unknown_cues_change_nothing():
    unknown = prosody_cues(None)
    for text in ("le pago el viernes", "pero", "el"):
        assert DETECTOR.decide(text, unknown) == DETECTOR.decide(text)
