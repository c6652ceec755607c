"""Whisper on a GPU: decode latency per utterance (median, p90) and real-time factor over a spoken set.

Run: ``.venv/bin/python -m bench.stt_gpu [--set DIR] [--beam 1] [--runs 1]`` after
``pip install '.[gpu]'`` (the CUDA 12 libraries CTranslate2 loads). The model is ``STT_MODEL_PATH``
(expected: faster-whisper ``large-v3`` in CTranslate2 format, run with ``float16``; set
``STT_COMPUTE_TYPE`` to change it), or the bundled Whisper base when unset. The clips are the WAVs of
``--set`` (default: ``bench/speech_set/wav`` when it has any), else a few Spanish phrases spoken by
espeak-ng at 130 words a minute.

Without a CUDA device CTranslate2 can use (``ctranslate2.get_cuda_device_count() == 0``) it prints
"no CUDA device: the GPU bench did not run" and exits 0: there is nothing to measure, and a CPU
figure here would be mistaken for the GPU one (``bench.stt_latency`` measures the CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from media.audio import AudioClip, read_wav

NO_DEVICE = "no CUDA device: the GPU bench did not run"
DEFAULT_SET = Path(__file__).resolve().parent / "speech_set" / "wav"
PHRASES = (
    "Sí, puedo pagar cincuenta mil pesos el quince de diciembre.",
    "Quiero hablar con una persona.",
    "No tengo dinero este mes, llámeme el lunes a las tres de la tarde.",
    "Ya pagué la cuota la semana pasada.",
)


def cuda_devices() -> int:
    """CUDA devices CTranslate2 can use (0 when it has no CUDA support or finds no driver)."""
    try:
        import ctranslate2

        return int(ctranslate2.get_cuda_device_count())
    except (ImportError, RuntimeError, OSError):  # no CUDA build, no driver: no device to measure on
        return 0


def clips(set_dir: Path | None) -> list[tuple[str, AudioClip]]:
    folder = set_dir or (DEFAULT_SET if any(DEFAULT_SET.glob("*.wav")) else None)
    if folder is not None:
        return [(p.name, read_wav(p)) for p in sorted(Path(folder).glob("*.wav"))]
    from tests.phones.audio import make_spanish_wav

    with tempfile.TemporaryDirectory(prefix="stt-gpu-") as tmp:
        return [(f"espeak-{i}", read_wav(make_spanish_wav(text, Path(tmp) / f"{i}.wav", wpm=130)))
                for i, text in enumerate(PHRASES)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def bench(args: argparse.Namespace) -> None:
    from media.stt import WhisperStt

    model = os.environ.get("STT_MODEL_PATH") or None
    compute = os.environ.get("STT_COMPUTE_TYPE") or "float16"
    items = clips(args.set)
    if not items:
        raise SystemExit(f"no WAV clips in {args.set}")
    t0 = time.perf_counter()
    async with WhisperStt(model, device="cuda", compute_type=compute, beam_size=args.beam) as stt:
        load_s = time.perf_counter() - t0
        await stt.transcribe(items[0][1])  # warm-up: CUDA kernels, allocator
        latencies, audio_s, decode_s = [], 0.0, 0.0
        for _ in range(args.runs):
            for _name, clip in items:
                t = time.perf_counter()
                result = await stt.transcribe(clip)
                elapsed = time.perf_counter() - t
                latencies.append(elapsed)
                audio_s += result.audio_s
                decode_s += elapsed
    label = model or "whisper-base (bundled)"
    print(f"model {label} on cuda ({compute}, beam {args.beam}), loaded in {load_s:.1f} s; "
          f"{len(items)} clip(s) x {args.runs} run(s), {audio_s:.1f} s of audio")
    print(f"decode latency per utterance: median {statistics.median(latencies) * 1000:.0f} ms, "
          f"p90 {percentile(latencies, 0.9) * 1000:.0f} ms")
    print(f"real-time factor: {decode_s / audio_s:.3f} (decode time / audio time)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", type=Path, default=None, help="a folder of WAV clips (default: the spoken set)")
    ap.add_argument("--beam", type=int, default=1)
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args(argv)
    if cuda_devices() == 0:
        print(NO_DEVICE)
        return 0
    asyncio.run(bench(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
