"""Prosody at the end of an utterance: how the voice ended, for the end-of-turn decision.

The words say a lot about whether the caller has finished (:mod:`media.turn`), but not everything:
"¿le pago el viernes?" and "le pago el viernes." are the same words to a recogniser that drops the
question marks, and "es que yo pagué el..." trails off with a falling, fading voice when the caller
gave up on the sentence, but stays level and stops dead when they only drew breath. Three cues,
each cheap to compute from the utterance's 8 kHz audio:

* the final pitch movement: F0 (YIN on 30 ms frames, 10 ms hop) over the voiced frames of the last
  ``final_window_s`` of speech against the utterance's median, in semitones (the speaker's own
  register, so a woman's and a man's voice read alike) -> rising / falling / flat;
* the energy at the end: the last 300 ms of speech against the utterance's median level, in dB ->
  fading (the voice dies away: done, or trailing off) vs abrupt (full voice, then nothing: a cut);
* the final pause: trailing silence after the last speech frame (the segmenter's clip runs through
  its hang-over), or the silence known so far when the caller of :func:`prosody_cues` says so.

Pure numpy, all frames at once (one batch of FFTs): about 1 ms per second of audio on one core.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from media.audio import AudioClip

__all__ = ["PitchTrack", "ProsodyCues", "pitch_track", "prosody_cues"]

PitchMove = Literal["rising", "falling", "flat", "unknown"]
EnergyEnd = Literal["fading", "abrupt", "even", "unknown"]

FRAME_S = 0.030  # YIN integration window
HOP_S = 0.010
SPARSE_STEP = 3  # F0 on every 3rd frame away from the end (the median needs no more)
F0_MIN_HZ = 70.0  # telephone voices: low male creak to high female / child
F0_MAX_HZ = 420.0
YIN_THRESHOLD = 0.20  # cumulative-mean-normalised difference under which a dip is a period
YIN_VOICED_MAX = 0.35  # best dip above this: unvoiced (noise, fricative)
SPEECH_FLOOR_DB = 35.0  # frames this far below the utterance's loudest are silence
ABS_FLOOR_DBFS = -60.0  # and anything below this is silence whatever the loudest

RISE_ST = 2.0  # final pitch this many semitones above the median: rising
FALL_ST = -2.0
FADE_DB = -6.0  # last 300 ms this far under the median level: fading
ABRUPT_DB = -2.5  # and at least this loud: abrupt (full voice up to the cut)


@dataclass(frozen=True)
class PitchTrack:
    """Per-frame results (10 ms hop): F0 in Hz (NaN when unvoiced) and level in dBFS."""

    times_s: np.ndarray
    f0_hz: np.ndarray
    level_db: np.ndarray
    speech: np.ndarray  # bool: frame above the silence floor


@dataclass(frozen=True)
class ProsodyCues:
    """How the utterance ended. ``None`` fields: not measurable (too little speech or voicing).

    ``final_st``: median pitch of the final window's voiced frames minus the utterance's median
    (semitones); ``end_db``: level of the last 300 ms of speech minus the utterance's median (dB);
    ``pause_s``: silence after the last speech frame.
    """

    pitch: PitchMove
    final_st: float | None
    energy: EnergyEnd
    end_db: float | None
    pause_s: float | None
    speech_s: float
    voiced_frames: int

    @property
    def rising(self) -> bool:
        return self.pitch == "rising"

    @property
    def falling(self) -> bool:
        return self.pitch == "falling"

    @property
    def fading(self) -> bool:
        return self.energy == "fading"

    @property
    def abrupt(self) -> bool:
        return self.energy == "abrupt"

    def with_pause(self, pause_s: float) -> ProsodyCues:
        """These cues with the final pause known so far (e.g. the silence since the speech ended)."""
        return replace(self, pause_s=max(0.0, pause_s))

    def label(self) -> str:
        """Short form for logs and the turn's rule: e.g. ``rising+fading``."""
        return f"{self.pitch}+{self.energy}"


_UNKNOWN = ProsodyCues("unknown", None, "unknown", None, None, 0.0, 0)


def _frames(x: np.ndarray, size: int, hop: int) -> np.ndarray:
    if len(x) < size:
        x = np.pad(x, (0, size - len(x)))
    return sliding_window_view(x, size)[::hop]


def _levels(x: np.ndarray, win: int, hop: int) -> np.ndarray:
    """dBFS of each ``win``-sample frame, ``hop`` apart (frame i starts at sample i * hop)."""
    if len(x) < win:
        return np.zeros(0)
    n = 1 + (len(x) - win) // hop
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    starts = np.arange(n) * hop
    return 10.0 * np.log10((csum[starts + win] - csum[starts]) / win + 1e-12)


def pitch_track(clip: AudioClip, *, dense_from_s: float = 0.0, sparse_step: int = SPARSE_STEP) -> PitchTrack:
    """F0 and level per 10 ms frame (YIN via FFT autocorrelation, vectorised over frames).

    Before ``dense_from_s`` F0 is estimated on every ``sparse_step``-th frame only (NaN between):
    enough for the utterance's median, and it keeps long utterances cheap; the end is dense.
    """
    sr = clip.sample_rate
    win = max(8, round(FRAME_S * sr))
    hop = max(1, round(HOP_S * sr))
    min_lag = max(2, int(sr / F0_MAX_HZ))
    max_lag = min(math.ceil(sr / F0_MIN_HZ), win)
    size = win + max_lag + 1
    if len(clip.pcm) < win:
        empty = np.zeros(0)
        return PitchTrack(empty, empty, empty, np.zeros(0, dtype=bool))
    x = clip.pcm.astype(np.float64) / 32768.0
    x -= x.mean()
    level_db = _levels(x, win, hop)
    n_all = len(level_db)
    loudest = level_db.max()
    speech = (level_db > ABS_FLOOR_DBFS) & (level_db > loudest - SPEECH_FLOOR_DB)
    times = (np.arange(n_all) * hop + win / 2) / sr
    f0 = np.full(n_all, np.nan)
    # YIN only where there is sound (silence costs nothing), sparsely before dense_from_s.
    idx = np.flatnonzero(speech & ((times >= dense_from_s) | (np.arange(n_all) % max(1, sparse_step) == 0)))
    if len(idx) == 0:
        return PitchTrack(times, f0, level_db, speech)
    x = np.pad(x, (0, max(0, (n_all - 1) * hop + size - len(x))))
    frames = sliding_window_view(x, size)[idx * hop]  # each frame plus the lags it is compared with
    n = len(frames)
    head = frames[:, :win]
    energy = np.einsum("ij,ij->i", head, head)
    # r(tau) = sum_j x[j] x[j+tau] for j < win: a cross-correlation of the head with the whole frame;
    # circular wrap-around cannot reach lags <= max_lag when nfft >= size.
    nfft = 1 << math.ceil(math.log2(size))
    spec = np.fft.rfft(frames, nfft) * np.conj(np.fft.rfft(head, nfft))
    r = np.fft.irfft(spec, nfft)[:, : max_lag + 1]
    # Energy of the lagged window x[tau : tau + win], from a running sum of squares.
    csum = np.zeros((n, size + 1))
    np.cumsum(frames * frames, axis=1, out=csum[:, 1:])
    lags = np.arange(max_lag + 1)
    e_lag = csum[:, win : win + max_lag + 1] - csum[:, : max_lag + 1]
    diff = np.maximum(energy[:, None] + e_lag - 2.0 * r, 0.0)
    diff[:, 0] = 0.0
    # Cumulative-mean normalisation (YIN step 3): d'(tau) = d(tau) * tau / sum_{k<=tau} d(k).
    cum = np.cumsum(diff[:, 1:], axis=1)
    norm = np.ones_like(diff)
    norm[:, 1:] = diff[:, 1:] * lags[1:] / np.maximum(cum, 1e-12)
    band = norm[:, min_lag : max_lag + 1]
    # First dip under the threshold that is a local minimum, else the global minimum of the band.
    below = band < YIN_THRESHOLD
    local_min = np.zeros_like(below)
    local_min[:, :-1] = band[:, :-1] <= band[:, 1:]
    candidates = below & local_min
    first = np.where(candidates.any(axis=1), candidates.argmax(axis=1), band.argmin(axis=1))
    rows = np.arange(n)
    best = band[rows, first]
    # Parabolic interpolation around the chosen lag for a sub-sample period.
    tau = first + min_lag
    left = norm[rows, np.clip(tau - 1, 0, max_lag)]
    mid = norm[rows, tau]
    right = norm[rows, np.clip(tau + 1, 0, max_lag)]
    denom = left - 2.0 * mid + right
    safe = np.where(np.abs(denom) > 1e-12, denom, 1.0)
    shift = np.where(np.abs(denom) > 1e-12, 0.5 * (left - right) / safe, 0.0)
    period = tau + np.clip(shift, -0.5, 0.5)
    voiced = (best < YIN_VOICED_MAX) & (tau > min_lag) & (tau < max_lag)
    f0[idx[voiced]] = sr / period[voiced]
    return PitchTrack(times, f0, level_db, speech)


def _octave_fixed(st: np.ndarray) -> np.ndarray:
    """Semitones with YIN's octave slips undone: a jump of ~12 st from one voiced frame to the next
    is a halving/doubling error, not intonation (real rises, even of 10+ st, are gradual)."""
    st = st.copy()
    for i in range(1, len(st)):
        jump = st[i] - st[i - 1]
        if abs(jump) > 8.0 and abs(abs(jump) - 12.0) < 4.0:
            st[i] -= math.copysign(12.0, jump)
    return st


def prosody_cues(
    clip: AudioClip | None,
    *,
    final_window_s: float = 0.5,
    end_energy_s: float = 0.3,
    pause_s: float | None = None,
) -> ProsodyCues:
    """The cues of ``clip`` (an utterance, any sample rate; 8 kHz telephone speech expected).

    ``pause_s``: the final pause if the caller knows it (e.g. silence since the segmenter's end);
    otherwise the trailing silence in the clip is measured.
    """
    if clip is None or len(clip.pcm) == 0:
        return _UNKNOWN if pause_s is None else _UNKNOWN.with_pause(pause_s)
    # F0 is dense only near the end; the end of the speech is known from the levels alone.
    sr, x = clip.sample_rate, clip.pcm.astype(np.float64) / 32768.0
    levels = _levels(x - x.mean(), max(8, round(FRAME_S * sr)), max(1, round(HOP_S * sr)))
    loud = np.flatnonzero((levels > ABS_FLOOR_DBFS) & (levels > levels.max(initial=-999.0) - SPEECH_FLOOR_DB))
    end_guess = (loud[-1] * HOP_S + FRAME_S / 2) if len(loud) else 0.0
    track = pitch_track(clip, dense_from_s=end_guess - final_window_s - 0.05)
    if not track.speech.any():
        return replace(_UNKNOWN, pause_s=pause_s if pause_s is not None else clip.duration_s)
    speech_idx = np.flatnonzero(track.speech)
    last = speech_idx[-1]
    end_s = track.times_s[last] + HOP_S / 2
    if pause_s is None:
        pause_s = max(0.0, clip.duration_s - end_s)
    speech_s = len(speech_idx) * HOP_S

    # Energy: last `end_energy_s` of speech (up to the last speech frame) vs the median speech level.
    levels = track.level_db[speech_idx]
    tail = track.speech & (track.times_s > end_s - end_energy_s) & (np.arange(len(track.times_s)) <= last)
    end_db = float(np.mean(track.level_db[tail]) - np.median(levels))
    if speech_s < 2 * end_energy_s:
        energy: EnergyEnd = "unknown"  # too short to have an "end" distinct from the whole
    elif end_db <= FADE_DB:
        energy = "fading"
    elif end_db >= ABRUPT_DB:
        energy = "abrupt"
    else:
        energy = "even"

    # Pitch: voiced frames of the final window vs the utterance's median, in semitones.
    voiced = ~np.isnan(track.f0_hz)
    n_voiced = int(voiced.sum())
    if n_voiced < 8:
        return ProsodyCues("unknown", None, energy, round(end_db, 2), pause_s, speech_s, n_voiced)
    f0 = track.f0_hz[voiced]
    # The median on the sparse grid only: the dense end must not weigh more than the rest.
    grid = voiced & (np.arange(len(voiced)) % SPARSE_STEP == 0)
    st = _octave_fixed(12.0 * np.log2(f0 / np.median(track.f0_hz[grid] if grid.sum() >= 5 else f0)))
    t = track.times_s[voiced]
    final = t > end_s - final_window_s
    if final.sum() < 4:
        return ProsodyCues("unknown", None, energy, round(end_db, 2), pause_s, speech_s, n_voiced)
    # The very end of the window carries the movement: its last third against the utterance median.
    st_final = st[final]
    k = max(3, len(st_final) // 3)
    final_st = float(np.median(st_final[-k:]))
    pitch: PitchMove = "rising" if final_st >= RISE_ST else "falling" if final_st <= FALL_ST else "flat"
    return ProsodyCues(pitch, round(final_st, 2), energy, round(end_db, 2), pause_s, speech_s, n_voiced)
