"""Optional clean-up of one caller utterance before speech recognition: noise suppression and level.

Why it is switchable and off unless measured otherwise: a denoiser trained on wide-band speech can
remove as much consonant as noise from an 8 kHz mu-law phone line, and Whisper is itself trained on
noisy audio. ``bench/denoise_accuracy.py`` measures each setting's word error rate on the spoken set
(clean, street, babble and mains hum at 20/10/5 dB) and its CPU cost; docs/speech.md holds the figures
and the reason for the default.

- ``rnnoise``: Xiph RNNoise (``pyrnnoise``), a small recurrent net on 10 ms frames at 48 kHz; the
  utterance is resampled 8 kHz -> 48 kHz -> back with soxr, and the net's one-frame delay is removed.
- ``noisereduce``: spectral gating (``noisereduce``) at the clip's own rate, in its *stationary* mode
  (one noise profile per utterance): on the set it left 0.8-2.6 dB less residual noise than the
  non-stationary mode for street, babble and hum at 10 dB SNR.
- ``normalize``: scale so that the active speech sits at ``target_dbfs`` (mean power over the 20 ms frames
  that are clearly above the clip's noise floor), never letting the peak exceed ``peak_dbfs`` and never
  adding more than ``max_gain_db`` (a near-silent clip is not blown up into loud noise).

The heavy packages are imported inside :meth:`AudioPreprocessor.process`, so a deployment that keeps the
default (off) does not need them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from media.audio import AudioClip

__all__ = ["AudioPreprocessor", "active_level_dbfs"]

_FULL_SCALE = 32768.0
_RNNOISE_RATE = 48_000


def _frame_powers(x: np.ndarray, n: int) -> np.ndarray:
    if len(x) < n:
        return np.array([np.mean(x**2)]) if len(x) else np.zeros(0)
    f = x[: len(x) // n * n].reshape(-1, n)
    return (f**2).mean(axis=1)


def active_level_dbfs(pcm: np.ndarray, sample_rate: int) -> float:
    """Speech level in dBFS over the active 20 ms frames: those within 40 dB of the loudest frame and at
    least 6 dB above the clip's noise floor (its 10th-percentile frame). ``-inf`` for digital silence."""
    x = np.asarray(pcm, dtype=np.float64)
    p = _frame_powers(x, max(1, sample_rate // 50))
    if len(p) == 0 or p.max() <= 0:
        return float("-inf")
    threshold = max(p.max() * 1e-4, np.percentile(p, 10) * 10 ** 0.6)
    active = p[p >= threshold]
    if len(active) == 0:  # flat signal (a tone, steady noise): all of it is "active"
        active = p
    return float(10 * np.log10(active.mean() / _FULL_SCALE**2))


@dataclass(frozen=True)
class AudioPreprocessor:
    """What to do to an utterance before STT; ``AudioPreprocessor()`` is a no-op."""

    denoise: Literal["off", "rnnoise", "noisereduce"] = "off"
    normalize: bool = False
    target_dbfs: float = -20.0
    peak_dbfs: float = -1.0
    max_gain_db: float = 30.0

    def __post_init__(self) -> None:
        if self.denoise not in ("off", "rnnoise", "noisereduce"):
            raise ValueError(f"denoise must be 'off', 'rnnoise' or 'noisereduce', got {self.denoise!r}")

    @property
    def is_noop(self) -> bool:
        return self.denoise == "off" and not self.normalize

    def process(self, clip: AudioClip) -> AudioClip:
        """The cleaned clip: same sample rate, same number of samples (``clip`` itself when a no-op)."""
        if self.is_noop or len(clip.pcm) == 0:
            return clip
        x = clip.pcm.astype(np.float64)
        if self.denoise == "rnnoise":
            x = _rnnoise(x, clip.sample_rate)
        elif self.denoise == "noisereduce":
            x = _noisereduce(x, clip.sample_rate)
        if self.normalize:
            x = self._normalized(x, clip.sample_rate)
        return AudioClip(np.clip(np.rint(x), -32768, 32767).astype(np.int16), clip.sample_rate)

    def _normalized(self, x: np.ndarray, rate: int) -> np.ndarray:
        level = active_level_dbfs(x, rate)
        peak = float(np.max(np.abs(x))) if len(x) else 0.0
        if not np.isfinite(level) or peak <= 0:
            return x
        gain_db = min(self.target_dbfs - level, self.max_gain_db)
        gain_db = min(gain_db, self.peak_dbfs - 20 * np.log10(peak / _FULL_SCALE))  # peak cap
        return x * 10 ** (gain_db / 20)


def _soxr():
    try:
        import soxr
    except ImportError as exc:
        raise RuntimeError("audio preprocessing needs the 'soxr' package: pip install soxr") from exc
    return soxr


def _rnnoise(x: np.ndarray, rate: int) -> np.ndarray:
    try:
        from pyrnnoise import rnnoise
    except ImportError as exc:
        raise RuntimeError("denoise='rnnoise' needs the 'pyrnnoise' package: pip install pyrnnoise") from exc
    soxr = _soxr()
    hi = soxr.resample(x.astype(np.float32), rate, _RNNOISE_RATE, quality="HQ") if rate != _RNNOISE_RATE \
        else x.astype(np.float32)
    n = rnnoise.FRAME_SIZE
    # RNNoise's output lags its input by one frame: feed one extra frame and drop the first one.
    padded = np.concatenate([hi, np.zeros(n + (-len(hi)) % n, dtype=np.float32)])
    frames = np.clip(padded, -32768, 32767).reshape(-1, n)
    out = np.empty_like(frames)
    state = rnnoise.create()
    try:
        for i, frame in enumerate(frames):
            buf = np.ascontiguousarray(frame, dtype=np.float32)
            rnnoise.lib.rnnoise_process_frame(state, buf.ctypes.data_as(rnnoise.ctypes.POINTER(rnnoise.ctypes.c_float)),
                                              buf.ctypes.data_as(rnnoise.ctypes.POINTER(rnnoise.ctypes.c_float)))
            out[i] = buf
    finally:
        rnnoise.destroy(state)
    y = out.ravel()[n : n + len(hi)]
    if rate != _RNNOISE_RATE:
        y = soxr.resample(y, _RNNOISE_RATE, rate, quality="HQ")
    y = y.astype(np.float64)
    return y[: len(x)] if len(y) >= len(x) else np.concatenate([y, np.zeros(len(x) - len(y))])


def _noisereduce(x: np.ndarray, rate: int) -> np.ndarray:
    try:
        import noisereduce
    except ImportError as exc:
        raise RuntimeError("denoise='noisereduce' needs the 'noisereduce' package: pip install noisereduce") from exc
    # 32 ms windows at 8 kHz (the package default of 1024 points is tuned for 44.1 kHz music).
    n_fft = 256 if rate <= 16_000 else 1024
    y = noisereduce.reduce_noise(y=(x / _FULL_SCALE).astype(np.float32), sr=rate, stationary=True,
                                 n_fft=n_fft, prop_decrease=0.9, n_jobs=1)
    y = np.asarray(y, dtype=np.float64) * _FULL_SCALE
    return y[: len(x)] if len(y) >= len(x) else np.concatenate([y, np.zeros(len(x) - len(y))])
