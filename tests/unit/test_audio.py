"""Resampling quality, WAV I/O, framing and AudioClip invariants."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from media.audio import AudioClip, frames, read_wav, resample, write_wav


def _tone(freq: float, rate: int, seconds: float = 1.0, amplitude: float = 10000.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def _peak_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    k = int(np.argmax(spectrum))
    # parabolic interpolation of the peak bin for sub-bin accuracy
    a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-12)
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / len(x)


@pytest.mark.parametrize(
    ("src", "dst"), [(22050, 8000), (16000, 8000), (8000, 16000), (24000, 8000), (44100, 16000)]
)
def test_resample_keeps_a_440hz_tone(src: int, dst: int) -> None:
    x = _tone(440, src)
    y = resample(x, src, dst)
    assert y.dtype == np.int16
    assert len(y) == -(-len(x) * dst // src)
    inner = y[dst // 10 : -dst // 10]  # ignore filter edges
    assert abs(_peak_hz(inner, dst) - 440.0) < 1.0
    assert abs(20 * np.log10(_rms(inner) / _rms(x))) < 0.1


@pytest.mark.parametrize(
    ("freq", "src", "dst"),
    [(6000, 16000, 8000), (5000, 22050, 8000), (4500, 24000, 8000), (9000, 22050, 16000)],
)
def test_resample_removes_tones_above_the_new_nyquist(freq: int, src: int, dst: int) -> None:
    x = _tone(freq, src)
    y = resample(x, src, dst)
    attenuation_db = 20 * np.log10(max(_rms(y[200:-200]), 1e-3) / _rms(x))
    assert attenuation_db < -30, f"{freq} Hz only attenuated {attenuation_db:.1f} dB"


def test_resample_passband_and_dc() -> None:
    x = _tone(3000, 16000)
    y = resample(x, 16000, 8000)
    assert abs(20 * np.log10(_rms(y[800:-800]) / _rms(x))) < 0.5  # telephone band kept
    dc = resample(np.full(4000, 1000, dtype=np.int16), 8000, 16000)
    assert np.all(dc[200:-200] == 1000)


def test_resample_same_rate_and_empty() -> None:
    x = np.arange(10, dtype=np.int16)
    y = resample(x, 8000, 8000)
    assert np.array_equal(x, y) and y is not x
    assert len(resample(np.zeros(0, dtype=np.int16), 22050, 8000)) == 0


def test_wav_round_trip(tmp_path: Path) -> None:
    clip = AudioClip(_tone(440, 8000, 0.5), 8000)
    write_wav(tmp_path / "a.wav", clip)
    back = read_wav(tmp_path / "a.wav")
    assert back.sample_rate == 8000
    assert np.array_equal(back.pcm, clip.pcm)
    assert back.duration_s == pytest.approx(0.5)


def test_read_wav_downmixes_stereo(tmp_path: Path) -> None:
    stereo = np.stack([np.full(100, 1000), np.full(100, 3000)], axis=1).astype("<i2")
    with wave.open(str(tmp_path / "s.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(stereo.tobytes())
    clip = read_wav(tmp_path / "s.wav")
    assert clip.sample_rate == 16000
    assert clip.pcm.tolist() == [2000] * 100


def test_read_wav_rejects_other_formats(tmp_path: Path) -> None:
    with wave.open(str(tmp_path / "8bit.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(b"\x80" * 10)
    with pytest.raises(ValueError, match="8-bit"):
        read_wav(tmp_path / "8bit.wav")
    # IEEE float WAV (format tag 3), as some tools write by default
    data = np.zeros(10, dtype="<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, 8000, 32000, 4, 32)
    riff = (
        b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    )
    (tmp_path / "float.wav").write_bytes(b"RIFF" + struct.pack("<I", len(riff)) + riff)
    with pytest.raises(ValueError, match="16-bit PCM"):
        read_wav(tmp_path / "float.wav")


def test_frames_zero_pads_the_last_one() -> None:
    out = list(frames(np.arange(1, 11, dtype=np.int16), 4))
    assert [f.tolist() for f in out] == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 0, 0]]
    assert list(frames(np.zeros(0, dtype=np.int16), 160)) == []
    assert len(list(frames(np.zeros(320, dtype=np.int16), 160))) == 2


def test_audio_clip_is_immutable_and_validated() -> None:
    source = np.ones(8000, dtype=np.int16)
    clip = AudioClip(source, 8000)
    assert clip.duration_s == 1.0
    source[:] = 7  # the caller's array is not shared
    assert int(clip.pcm[0]) == 1
    with pytest.raises(ValueError):
        clip.pcm[0] = 5
    with pytest.raises(TypeError):
        AudioClip(np.zeros(10, dtype=np.float32), 8000)
    with pytest.raises(ValueError):
        AudioClip(np.zeros((10, 2), dtype=np.int16), 8000)
    with pytest.raises(ValueError):
        AudioClip(np.zeros(10, dtype=np.int16), 0)
    assert clip.resampled(16000).sample_rate == 16000
    assert len(clip.resampled(16000).pcm) == 16000
    assert clip.resampled(8000) is clip
    assert AudioClip.silence(0.25, 8000).pcm.tolist() == [0] * 2000
