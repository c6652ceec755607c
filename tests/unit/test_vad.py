"""VAD on real (espeak-ng) Spanish speech placed at known times in noise, and segmentation logic."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from media.audio import AudioClip, read_wav
from media.vad import VoiceActivityDetector, WebRtcVad, rms_dbfs, speech_segments, speech_span

TOLERANCE_S = 0.15


def _espeak(tmp_path: Path, text: str, name: str = "u.wav") -> AudioClip:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed (apt-get install espeak-ng)", pytrace=False)
    path = tmp_path / name
    subprocess.run(["espeak-ng", "-v", "es-419", "-w", str(path), text], check=True, timeout=30)
    return read_wav(path)


def _true_span(clip: AudioClip) -> tuple[float, float]:
    """Where the voice really is in the clean clip: 10 ms envelope above 1% of its peak."""
    win = max(1, clip.sample_rate // 100)
    env = np.convolve(np.abs(clip.pcm.astype(np.float64)), np.ones(win) / win, mode="same")
    idx = np.nonzero(env > 0.01 * env.max())[0]
    return idx[0] / clip.sample_rate, idx[-1] / clip.sample_rate


def _place(parts: list[tuple[float, AudioClip]], total_s: float, rate: int, noise_dbfs: float) -> AudioClip:
    buf = np.zeros(int(total_s * rate))
    for at, clip in parts:
        pcm = clip.resampled(rate).pcm
        start = int(at * rate)
        buf[start : start + len(pcm)] += pcm
    noise = np.random.default_rng(7).normal(0.0, 32768 * 10 ** (noise_dbfs / 20), len(buf))
    return AudioClip(np.clip(buf + noise, -32768, 32767).astype(np.int16), rate)


@pytest.fixture(scope="module")
def utterance(tmp_path_factory: pytest.TempPathFactory) -> AudioClip:
    return _espeak(
        tmp_path_factory.mktemp("vad"), "Buenos días, le llamo para conversar sobre su cuenta pendiente."
    )


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("noise_dbfs", [-60.0, -40.0])
def test_finds_utterance_where_it_was_placed(utterance: AudioClip, rate: int, noise_dbfs: float) -> None:
    t0, t1 = _true_span(utterance)
    mixed = _place([(1.2, utterance)], utterance.duration_s + 2.5, rate, noise_dbfs)
    span = speech_span(mixed)
    assert span is not None
    start, end = span
    assert abs(start - (1.2 + t0)) < TOLERANCE_S, (start, 1.2 + t0)
    assert abs(end - (1.2 + t1)) < TOLERANCE_S, (end, 1.2 + t1)
    assert len(speech_segments(mixed)) == 1


def test_two_utterances_are_two_segments(tmp_path: Path) -> None:
    a = _espeak(tmp_path, "Sí, puedo pagar.", "a.wav")
    b = _espeak(tmp_path, "El quince de diciembre.", "b.wav")
    a0, a1 = _true_span(a)
    b0, b1 = _true_span(b)
    b_at = 0.5 + a.duration_s + 1.2
    mixed = _place([(0.5, a), (b_at, b)], b_at + b.duration_s + 1.0, 8000, -45.0)
    segments = speech_segments(mixed)
    assert len(segments) == 2, segments
    (s0, e0), (s1, e1) = segments
    assert abs(s0 - (0.5 + a0)) < TOLERANCE_S and abs(e0 - (0.5 + a1)) < TOLERANCE_S
    assert abs(s1 - (b_at + b0)) < TOLERANCE_S and abs(e1 - (b_at + b1)) < TOLERANCE_S


def test_native_espeak_rate_is_analysed_after_resampling(utterance: AudioClip) -> None:
    assert utterance.sample_rate == 22050
    span = speech_span(utterance)
    t0, t1 = _true_span(utterance)
    assert span is not None
    assert abs(span[0] - t0) < TOLERANCE_S and abs(span[1] - t1) < TOLERANCE_S


def test_noise_and_silence_are_not_speech() -> None:
    assert speech_span(_place([], 3.0, 8000, -45.0)) is None
    assert speech_segments(AudioClip.silence(2.0, 16000)) == []


class EnergyVad:
    """A real (if simple) detector: speech is any frame louder than -40 dBFS."""

    def is_speech(self, frame: np.ndarray, sample_rate: int) -> bool:
        return rms_dbfs(frame) > -40.0


def _ms(segments: list[tuple[float, float]]) -> list[tuple[int, int]]:
    return [(round(a * 1000), round(b * 1000)) for a, b in segments]


def test_segmentation_merges_short_gaps_and_drops_blips() -> None:
    rate = 8000
    pcm = np.zeros(3 * rate, dtype=np.int16)
    tone = (8000 * np.sin(2 * np.pi * 300 * np.arange(rate) / rate)).astype(np.int16)
    for start_ms, end_ms in [(500, 1000), (1100, 1500), (2500, 2540)]:  # 100 ms gap, then a 40 ms blip
        a, b = start_ms * rate // 1000, end_ms * rate // 1000
        pcm[a:b] = tone[: b - a]
    clip = AudioClip(pcm, rate)
    vad: VoiceActivityDetector = EnergyVad()
    assert isinstance(vad, VoiceActivityDetector)
    assert _ms(speech_segments(clip, vad)) == [(500, 1500)]
    assert _ms(speech_segments(clip, vad, hangover_ms=60)) == [(500, 1000), (1100, 1500)]
    assert _ms(speech_segments(clip, vad, min_speech_ms=40)) == [(500, 1500), (2500, 2540)]


def test_rms_dbfs() -> None:
    t = np.arange(8000) / 8000
    full = (32767 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    assert rms_dbfs(full) == pytest.approx(-3.01, abs=0.05)
    assert rms_dbfs((full // 10).astype(np.int16)) == pytest.approx(-23.01, abs=0.1)
    assert rms_dbfs(np.zeros(160, dtype=np.int16)) == float("-inf")
    assert rms_dbfs(np.zeros(0, dtype=np.int16)) == float("-inf")


def test_webrtc_vad_validates_input() -> None:
    vad = WebRtcVad(3)
    assert vad.is_speech(np.zeros(160, dtype=np.int16), 8000) is False
    with pytest.raises(ValueError, match="frames"):
        vad.is_speech(np.zeros(100, dtype=np.int16), 8000)
    with pytest.raises(ValueError, match="Hz"):
        vad.is_speech(np.zeros(441, dtype=np.int16), 22050)
    with pytest.raises(ValueError):
        WebRtcVad(4)
