"""Audio preprocessing on real phone speech from the spoken set (no mocks): denoisers raise the measured
SNR, normalisation reaches its target level, and "off" leaves the clip alone."""

from __future__ import annotations

import numpy as np
import pytest

from bench.speech_set import active_mask, load_set, with_noise
from media.audio import AudioClip
from media.preprocess import AudioPreprocessor, active_level_dbfs


@pytest.fixture(scope="module")
def speech() -> AudioClip:
    utt = next(u for u in load_set() if u.id == "cl05")  # ~5 s, amount and date, Kokoro voice
    return utt.clip


def _measured_snr(clean: AudioClip, clip: AudioClip) -> float:
    """Power where the clean utterance speaks over power where it is silent (scale-independent)."""
    m = active_mask(clean.pcm, clean.sample_rate)
    x = clip.pcm.astype(np.float64)
    return float(10 * np.log10(np.mean(x[m] ** 2) / max(1e-9, np.mean(x[~m] ** 2))))


@pytest.mark.parametrize("denoise", ["rnnoise", "noisereduce"])
@pytest.mark.parametrize("kind", ["street", "hum"])
def test_denoiser_raises_measured_snr(speech: AudioClip, denoise: str, kind: str) -> None:
    noisy = with_noise(speech, kind, 5.0, seed=3)
    out = AudioPreprocessor(denoise=denoise).process(noisy)  # type: ignore[arg-type]
    assert out.sample_rate == noisy.sample_rate
    assert len(out.pcm) == len(noisy.pcm)
    before, after = _measured_snr(speech, noisy), _measured_snr(speech, out)
    assert after > before + 3.0, (before, after)


def test_denoised_speech_stays_aligned(speech: AudioClip) -> None:
    """RNNoise's frame delay and the 48 kHz round trip must not shift the speech in time."""
    out = AudioPreprocessor(denoise="rnnoise").process(speech).pcm.astype(np.float64)
    x = speech.pcm.astype(np.float64)
    lags = range(-40, 41)
    corr = [np.dot(x[100:-100], np.roll(out, -k)[100:-100]) for k in lags]
    assert abs(lags[int(np.argmax(corr))]) <= 4  # <= 0.5 ms at 8 kHz


def test_normalize_brings_quiet_clip_to_target(speech: AudioClip) -> None:
    quiet = AudioClip((speech.pcm.astype(np.float64) * 0.05).astype(np.int16), speech.sample_rate)
    assert active_level_dbfs(quiet.pcm, quiet.sample_rate) < -35.0
    out = AudioPreprocessor(normalize=True, target_dbfs=-20.0).process(quiet)
    assert len(out.pcm) == len(quiet.pcm) and out.sample_rate == quiet.sample_rate
    assert active_level_dbfs(out.pcm, out.sample_rate) == pytest.approx(-20.0, abs=1.0)
    assert np.max(np.abs(out.pcm.astype(np.int32))) <= 32768 * 10 ** (-1.0 / 20) + 1


def test_normalize_caps_the_peak(speech: AudioClip) -> None:
    """A target above what the peaks allow stops at the peak cap instead of clipping."""
    out = AudioPreprocessor(normalize=True, target_dbfs=-3.0, peak_dbfs=-1.0).process(speech)
    peak = np.max(np.abs(out.pcm.astype(np.int32)))
    assert 32768 * 10 ** (-1.5 / 20) <= peak <= 32768 * 10 ** (-1.0 / 20) + 1


def test_off_returns_the_clip_unchanged(speech: AudioClip) -> None:
    noisy = with_noise(speech, "babble", 10.0)
    out = AudioPreprocessor().process(noisy)
    assert out is noisy
    assert np.array_equal(out.pcm, noisy.pcm)


def test_unknown_denoiser_is_refused() -> None:
    with pytest.raises(ValueError, match="denoise"):
        AudioPreprocessor(denoise="wiener")  # type: ignore[arg-type]
