"""Word error rate of Whisper base with and without audio preprocessing, on clean and noisy phone speech.

    python -m bench.denoise_accuracy [--limit N] [--full]

The spoken set (bench/speech_set: 58 Chilean, Argentine and Colombian collections utterances, 8 kHz
G.711) is decoded as the app decodes (``media.stt.WhisperStt``, beam 1, language "es") after each
``media.preprocess.AudioPreprocessor`` setting, clean and with street, babble and mains-hum noise at 20,
10 and 5 dB SNR. WER is corpus-level (word edits / reference words) after ``normalize_for_wer`` (digits
and words agree). ``cpu ms/s`` is the preprocessing's CPU time per second of audio (not Whisper's).

Default: every utterance clean, and 16 utterances (spread over regions and voices) for each noisy
condition, ~1200 decodes (~8 min on 2 cores); ``--full`` uses every utterance everywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench.speech_set import NOISE_KINDS, Utterance, load_set, with_noise, word_errors
from media.preprocess import AudioPreprocessor
from media.stt import WhisperStt

SETTINGS: dict[str, AudioPreprocessor] = {
    "off": AudioPreprocessor(),
    "rnnoise": AudioPreprocessor(denoise="rnnoise"),
    "noisereduce": AudioPreprocessor(denoise="noisereduce"),
    "normalize": AudioPreprocessor(normalize=True),
    "rnnoise+norm": AudioPreprocessor(denoise="rnnoise", normalize=True),
    "noisereduce+norm": AudioPreprocessor(denoise="noisereduce", normalize=True),
}
SNRS = (20, 10, 5)
NOISY_DEFAULT = 16


def _spread(items: list[Utterance], n: int) -> list[Utterance]:
    if n >= len(items):
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


async def run(limit: int | None, full: bool) -> None:
    utts = load_set()
    if limit is not None:
        utts = _spread(utts, limit)
    noisy = utts if full else _spread(utts, NOISY_DEFAULT)
    conditions: list[tuple[str, list[Utterance], str | None, float]] = [("clean", utts, None, 0.0)]
    for kind in NOISE_KINDS:
        for snr in SNRS:
            conditions.append((f"{kind} {snr} dB", noisy, kind, float(snr)))

    cpu = dict.fromkeys(SETTINGS, 0.0)
    audio_s = dict.fromkeys(SETTINGS, 0.0)
    table: dict[str, dict[str, float]] = {}
    totals = {name: [0, 0] for name in SETTINGS}  # noisy conditions only
    async with WhisperStt(beam_size=1, language="es") as stt:
        for label, group, kind, snr in conditions:
            row: dict[str, float] = {}
            for name, pre in SETTINGS.items():
                errors = words = 0
                for i, u in enumerate(group):
                    clip = u.clip if kind is None else with_noise(u.clip, kind, snr, seed=i)  # type: ignore[arg-type]
                    t0 = time.process_time()
                    clean = pre.process(clip)
                    cpu[name] += time.process_time() - t0
                    audio_s[name] += clip.duration_s
                    hyp = (await stt.transcribe(clean)).text
                    e, n = word_errors(u.text, hyp)
                    errors, words = errors + e, words + n
                row[name] = errors / max(1, words)
                if kind is not None:
                    totals[name][0] += errors
                    totals[name][1] += words
            table[label] = row
            print(f"{label:14s} n={len(group):2d}  " + "  ".join(f"{k}={v:.3f}" for k, v in row.items()),
                  flush=True)

    names = list(SETTINGS)
    print()
    print("| condition | n | " + " | ".join(names) + " |")
    print("|---|---:|" + "---:|" * len(names))
    for label, group, _, _ in conditions:
        print(f"| {label} | {len(group)} | " + " | ".join(f"{100 * table[label][k]:.1f}" for k in names) + " |")
    print(f"| all noisy | {len(noisy) * len(NOISE_KINDS) * len(SNRS)} | "
          + " | ".join(f"{100 * totals[k][0] / max(1, totals[k][1]):.1f}" for k in names) + " |")
    print("| cpu ms/s | | " + " | ".join(f"{1000 * cpu[k] / max(1e-9, audio_s[k]):.1f}" for k in names) + " |")
    print("\nWER in % (word edits / reference words); cpu ms/s = preprocessing CPU per second of audio.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="use only N utterances (spread over the set)")
    ap.add_argument("--full", action="store_true", help="every utterance in every noisy condition")
    args = ap.parse_args()
    asyncio.run(run(args.limit, args.full))


if __name__ == "__main__":
    main()
