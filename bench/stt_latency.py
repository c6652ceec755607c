"""Whisper STT latency: model load time, RSS, and median/p95 decode time of 2 s and 6 s utterances.

Run: ``.venv/bin/python -m bench.stt_latency [--runs 5] [--beam 1] [--model DIR --device cuda
--compute-type float16]``. Speech is espeak-ng Spanish at the 8 kHz telephone rate, padded or cut to
the target length, so the figures include the 8 -> 16 kHz resampling the live path pays. Whisper always
encodes a 30 s window, so decode time grows only slowly with utterance length.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from media.audio import AudioClip, read_wav
from media.stt import WhisperStt

TEXT = "Sí, puedo pagar el quince de diciembre. Voy a pagar ciento cuatro mil pesos, en dos cuotas, gracias."


def utterance(seconds: float, rate: int = 8000) -> AudioClip:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "u.wav"
        subprocess.run(["espeak-ng", "-v", "es-419", "-w", str(wav), TEXT], check=True, capture_output=True)
        pcm = read_wav(wav).resampled(rate).pcm
    n = round(seconds * rate)
    return AudioClip(np.pad(pcm[:n], (0, max(0, n - len(pcm)))), rate)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--beam", type=int, default=1)
    ap.add_argument(
        "--model", type=Path, default=None, help="CTranslate2 model dir (default: pip-bundled base)"
    )
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--compute-type", default="int8")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    t0 = time.perf_counter()
    async with WhisperStt(
        args.model,
        device=args.device,
        compute_type=args.compute_type,
        cpu_threads=args.threads,
        beam_size=args.beam,
    ) as stt:
        print(
            f"start {time.perf_counter() - t0:.2f} s (model load {stt.load_s:.2f} s), peak RSS {rss_mb():.0f} MB"
        )
        await stt.transcribe(utterance(1.0))  # warm-up: first decode allocates buffers
        for seconds in (2.0, 6.0):
            clip = utterance(seconds)
            times = []
            for _ in range(args.runs):
                t = await stt.transcribe(clip)
                times.append(t.decode_s)
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            print(
                f"{seconds:.0f} s utterance: median {statistics.median(times):.2f} s, p95 {p95:.2f} s "
                f"({args.runs} runs, beam {args.beam}) -> {t.text!r}"
            )
    print(f"peak RSS {rss_mb():.0f} MB")


if __name__ == "__main__":
    asyncio.run(main())
