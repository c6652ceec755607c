"""Test audio: Spanish speech from espeak-ng, conversion to telephone WAVs, and durations.

espeak-ng is a robotic voice (Whisper base mis-hears 45-76% of its words); it is fine for "the
phone said something and the agent heard audio", not for judging speech recognition quality.

    python -m tests.phones.audio "Sí, puedo pagar el quince de diciembre" /tmp/debtor.wav
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

from media.audio import AudioClip, read_wav, write_wav
from media.vad import speech_segments


class AudioToolError(RuntimeError):
    """espeak-ng or sox failed or is missing."""


def _run(argv: list[str], timeout_s: float = 60.0) -> None:
    if not shutil.which(argv[0]):
        raise AudioToolError(f"{argv[0]} is not installed (asterisk/lab/packages.sh installs it)")
    proc = subprocess.run(argv, capture_output=True, timeout=timeout_s, check=False)
    if proc.returncode != 0:
        raise AudioToolError(
            f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}"
        )


def to_phone_wav(
    src: Path, dst: Path, *, rate: int = 8000, lead_s: float = 0.0, total_s: float | None = None
) -> Path:
    """Convert any WAV to mono 16-bit `rate` Hz with `lead_s` silence before it, padded with silence
    to `total_s` seconds when given (never cut)."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    argv = ["sox", str(src), "-r", str(rate), "-c", "1", "-b", "16", "-e", "signed-integer", str(dst)]
    trail = 0.0
    if total_s is not None:
        trail = max(0.0, total_s - lead_s - wav_duration(src))
    if lead_s or trail:
        argv += ["pad", f"{lead_s:.3f}", f"{trail:.3f}"]
    _run(argv)
    return dst


def make_spanish_wav(text: str, path: Path | str, rate: int = 8000, *, voice: str = "es-419",
                     wpm: int | None = None) -> Path:
    """Speak `text` with espeak-ng (Latin-American Spanish) into a mono 16-bit WAV at `rate` Hz.

    `wpm`: espeak's speed (its default is 175). Whisper base reads numbers and dates spoken by
    espeak far better at 130 (measured: "cincuenta mil pesos el quince de diciembre" gives no words
    at 175 and "50 mil pesos el 15 de diciembre" at 130)."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="espeak-") as tmp:
        raw = Path(tmp) / "espeak.wav"
        _run(["espeak-ng", "-v", voice, *(["-s", str(wpm)] if wpm else []), "-w", str(raw), text])
        return to_phone_wav(raw, path, rate=rate)


def make_silence_wav(path: Path | str, seconds: float, rate: int = 8000) -> Path:
    """A mono 16-bit WAV of digital silence."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_wav(path, AudioClip.silence(seconds, rate))
    return path


def make_caller_script(parts: list[str | float | Path], path: Path | str, rate: int = 8000, *,
                       wpm: int | None = None) -> Path:
    """One WAV of what a caller says: phrases (spoken by espeak-ng), recorded lines (a WAV's path, as
    tests/phones/voices/ keeps them) and pauses (seconds), in order."""
    path = Path(path)
    pcm = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, part in enumerate(parts):
            if isinstance(part, Path):
                pcm.append(read_wav(part).resampled(rate).pcm)
            elif isinstance(part, str):
                clip = read_wav(make_spanish_wav(part, Path(tmp) / f"part{i}.wav", rate, wpm=wpm))
                pcm.append(clip.pcm)
            else:
                pcm.append(np.zeros(int(part * rate), dtype=np.int16))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_wav(path, AudioClip(np.concatenate(pcm), rate))
    return path


def wav_duration(path: Path | str) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / float(w.getframerate())


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: python -m tests.phones.audio TEXT OUT.wav [RATE]")
    out = make_spanish_wav(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) == 4 else 8000)
    clip = read_wav(out)
    print(f"{out}: {clip.duration_s:.2f} s, speech at {speech_segments(clip)}")
