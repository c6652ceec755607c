"""Benchmark (d): what the speech models cost per second of call, and what that means in calls.

A call-like stream is built: 60 s (``--seconds``) of 8 kHz telephone audio in which the caller
speaks 40 % of the time (espeak-ng Spanish phrases) over -55 dBFS line noise. Then:

* VAD: every 20 ms frame through Silero and through WebRTC, as the live loop does; CPU time of
  this thread per second of audio. A 2-core box affords ``2000 / cost`` streams of it.
* STT: each utterance decoded by Whisper (bundled base, int8, 2 threads by default) the way the
  conversation does at the end of a turn; wall and CPU time per second of call. Decodes are
  serialised per engine, so ``1 / (decode s per call-second)`` is how many calls one engine keeps
  up with if their turns never collided; in practice turns collide, so plan for less.
* TTS (espeak-ng): synthesis time per second of produced speech, for the same budget.

Run: ``.venv/bin/python -m bench.speech_cost [--seconds 60] [--model DIR --device cuda
--compute-type float16]``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import numpy as np

from media.audio import AudioClip, frames, read_wav, resample
from media.stt import WhisperStt
from media.tts import EspeakTts
from media.vad import make_vad, speech_segments
from tests.phones.audio import make_spanish_wav

PHRASES = ["No tengo dinero este mes.", "Puedo pagar el quince de diciembre.", "Sí, soy yo.",
           "¿Cuánto es lo que debo?", "Quiero hablar con una persona.", "No me vuelvan a llamar."]
SPEECH_SHARE = 0.4


def call_audio(seconds: float) -> tuple[AudioClip, list[AudioClip]]:
    """The stream and its utterances (each with 200 ms either side, as the segmenter cuts them)."""
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as tmp:
        phrases = []
        for i, text in enumerate(PHRASES):
            clip = read_wav(make_spanish_wav(text, Path(tmp) / f"{i}.wav"))
            phrases.append(resample(clip.pcm, clip.sample_rate, 8000))
    total = int(seconds * 8000)
    stream = (rng.normal(0, 32768 * 10 ** (-55 / 20), total)).astype(np.int16)
    utterances, at, i = [], int(1.0 * 8000), 0
    while True:
        phrase = phrases[i % len(phrases)]
        gap = int(len(phrase) * (1 - SPEECH_SHARE) / SPEECH_SHARE)
        if at + len(phrase) + 1600 > total:
            break
        stream[at:at + len(phrase)] += phrase
        utterances.append(AudioClip(stream[max(0, at - 1600):at + len(phrase) + 1600].copy(), 8000))
        at += len(phrase) + gap
        i += 1
    return AudioClip(stream, 8000), utterances


def vad_cost(stream: AudioClip) -> dict[str, float]:
    out = {}
    for name in ("silero", "webrtc"):
        vad = make_vad(name, 8000)
        t0 = time.thread_time()
        for frame in frames(stream.pcm, 160):
            vad.is_speech(frame, 8000)
        out[name] = (time.thread_time() - t0) * 1000 / stream.duration_s  # CPU ms per call-second
    return out


async def stt_cost(utterances: list[AudioClip], args: argparse.Namespace) -> tuple[float, float, list[str]]:
    async with WhisperStt(args.model, device=args.device, compute_type=args.compute_type,
                          cpu_threads=args.threads) as stt:
        await stt.transcribe(utterances[0])  # warm-up: the first decode allocates its buffers
        cpu0, wall = time.process_time(), 0.0
        texts = []
        for clip in utterances:
            transcript = await stt.transcribe(clip)
            wall += transcript.decode_s
            texts.append(transcript.text)
        return wall, time.process_time() - cpu0, texts


async def tts_cost() -> tuple[float, float]:
    async with EspeakTts(cache_size=0) as tts:
        t0, produced = time.perf_counter(), 0.0
        for text in PHRASES * 2:
            produced += (await tts.synthesize(text)).duration_s
        return time.perf_counter() - t0, produced


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--model", type=Path, default=None, help="CTranslate2 Whisper dir (default: bundled base)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compute-type", default="int8")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    stream, utterances = call_audio(args.seconds)
    speech_s = sum(end - start for start, end in speech_segments(stream))
    print(f"call: {stream.duration_s:.0f} s, {len(utterances)} utterances, {speech_s:.0f} s of speech (VAD)")
    for name, ms in vad_cost(stream).items():
        print(f"VAD {name:<7} {ms:6.2f} ms CPU per call-second  -> {2000 / ms:7.0f} streams on 2 cores")
    wall, cpu, texts = asyncio.run(stt_cost(utterances, args))
    per_s = wall / stream.duration_s
    print(f"STT whisper  {per_s * 1000:6.0f} ms decode per call-second ({cpu / stream.duration_s * 1000:.0f} ms CPU, "
          f"{args.threads} threads, {args.device}/{args.compute_type}) -> one engine keeps up with "
          f"{1 / per_s:.1f} calls if their turns never collide")
    print(f"  e.g. {texts[0]!r}, {texts[1]!r}")
    synth_s, produced_s = asyncio.run(tts_cost())
    print(f"TTS espeak   {synth_s / produced_s * 1000:6.0f} ms synthesis per second of speech produced")


if __name__ == "__main__":
    main()
