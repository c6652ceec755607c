"""Re-transcribing a recorded call's caller lines (offline re-processing's audio side).

The recording (`media.recorder`) is a stereo WAV on the call's own timeline: the caller on the left,
the agent on the right, starting at the answer, so a transcript line's offsets are its place in the
file. Each caller line is cut from the LEFT channel by its stored times (widened by `pad_ms`, since
the VAD's onset trails the first phoneme a little) and decoded on its own.

Why per line from the caller's channel, not per turn window of a mix: the channels are separate, so
the caller's side alone holds no agent speech (no echo of the agent's words in the caller's text),
and the lines are the utterances the live recogniser decoded, so the two versions compare line by
line. Whisper decodes up to 30 s at once; a caller line is one turn, far shorter.

Blocking work (reading the file) is for a worker thread; the decodes run in the engine's own thread
(`SttEngine.transcribe` is async), never on the caller's event loop.
"""

from __future__ import annotations

import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from media.audio import AudioClip
from media.stt.base import SttEngine

__all__ = ["CALLER_CHANNEL", "LineTranscript", "caller_lines", "read_channel", "retranscribe_lines"]

CALLER_CHANNEL = 0  # left: see media/recorder.py


@dataclass(frozen=True, slots=True)
class LineTranscript:
    index: int  # into the lines given
    text: str
    confidence: float
    decode_s: float


def read_channel(path: str | Path, channel: int = CALLER_CHANNEL) -> AudioClip:
    """One channel of a 16-bit PCM WAV (blocking: call it from a worker thread)."""
    try:
        with wave.open(str(path), "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"{path}: not a 16-bit PCM WAV file ({exc})") from exc
    if width != 2:
        raise ValueError(f"{path}: only 16-bit PCM WAV is supported, got {8 * width}-bit samples")
    if not 0 <= channel < channels:
        raise ValueError(f"{path} has {channels} channel(s), no channel {channel}")
    data = np.frombuffer(raw, dtype="<i2")
    data = data[: len(data) - len(data) % channels].reshape(-1, channels)[:, channel]
    return AudioClip(np.ascontiguousarray(data, dtype=np.int16), rate)


def caller_lines(lines: Sequence[dict[str, Any]]) -> list[int]:
    """Which lines are the caller's speech (not keys pressed): the ones to decode again."""
    return [i for i, line in enumerate(lines) if line["speaker"] == "caller" and line.get("source", "stt") != "dtmf"]


def cut(audio: AudioClip, start_ms: int, end_ms: int, *, pad_ms: int = 250) -> AudioClip:
    rate = audio.sample_rate
    a = max(0, (start_ms - pad_ms) * rate // 1000)
    b = min(len(audio.pcm), (end_ms + pad_ms) * rate // 1000)
    return AudioClip(audio.pcm[a:max(a, b)], rate)


async def retranscribe_lines(stt: SttEngine, audio: AudioClip, lines: Sequence[dict[str, Any]], *,
                             pad_ms: int = 250) -> list[LineTranscript]:
    """Each caller line of `lines` decoded again from `audio` (the caller's channel), in order."""
    out = []
    for i in caller_lines(lines):
        line = lines[i]
        result = await stt.transcribe(cut(audio, int(line["start_ms"]), int(line["end_ms"]), pad_ms=pad_ms))
        out.append(LineTranscript(i, result.text, result.confidence, result.decode_s))
    return out
