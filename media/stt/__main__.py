"""Transcribe recordings as a live call would hear them: one line per file, in the order given.

    python -m media.stt transcribe A.wav B.wav [--debtor-json FACTS.json] [--corrections FILE.toml]

Each file goes through the call's path: telephone rate (8 kHz), the VAD segmenter cutting it into
utterances, Whisper on each (prompted with the debtor's names), the correction stage with the call's
vocabulary (the facts: ``{"debtor_name", "company", "balance", "installment", "due_date", ...}``),
and the utterances joined. ``--show-raw`` adds the recogniser's words before correction and the doubts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from media.audio import AudioClip, read_wav
from media.segmenter import SpeechEnded, SpeechSegmenter
from media.stt.base import Transcript
from media.stt.correct import CorrectedStt
from media.stt.vocabulary import CallVocabulary, load_corrections
from media.stt.whisper import WhisperStt
from media.vad import make_vad

PHONE_RATE = 8000
FRAME = 160  # 20 ms at 8 kHz, as RTP brings it


def utterances(clip: AudioClip, vad: str = "silero") -> list[AudioClip]:
    """The utterances the live segmenter would cut from ``clip`` (at the phone's rate)."""
    clip = clip.resampled(PHONE_RATE)
    segmenter = SpeechSegmenter(make_vad(vad, PHONE_RATE), sample_rate=PHONE_RATE)
    out: list[AudioClip] = []
    pcm = clip.pcm
    tail = AudioClip.silence(1.0, PHONE_RATE).pcm  # a caller's line goes quiet after the last word
    frames = [pcm[i:i + FRAME] for i in range(0, len(pcm) - FRAME + 1, FRAME)]
    frames += [tail[i:i + FRAME] for i in range(0, len(tail), FRAME)]
    for n, frame in enumerate(frames):
        for event in segmenter.push(frame, n * FRAME / PHONE_RATE):
            if isinstance(event, SpeechEnded) and (utt := segmenter.utterance()) is not None:
                out.append(utt)
    return out


async def transcribe_file(stt: CorrectedStt, path: Path, vad: str = "silero") -> list[Transcript]:
    clip = read_wav(path)
    return [await stt.transcribe(utt) for utt in await asyncio.to_thread(utterances, clip, vad)]


async def _main(args: argparse.Namespace) -> int:
    facts = json.loads(Path(args.debtor_json).read_text(encoding="utf-8")) if args.debtor_json else None
    vocabulary = CallVocabulary.from_facts(facts, load_corrections(args.corrections))
    async with WhisperStt(args.model, window=args.window) as whisper:
        stt = CorrectedStt.for_call(whisper, vocabulary, prompt_names=args.prompt_names)
        for name in args.wavs:
            heard = await transcribe_file(stt, Path(name), args.vad)
            line = " ".join(t.text for t in heard if t.text)
            if args.show_raw:
                raw = " ".join((t.raw_text if t.raw_text is not None else t.text) for t in heard)
                doubts = [d for t in heard for d in t.doubts]
                line += f"\t[raw: {raw}]" + (f"\t[doubts: {'; '.join(doubts)}]" if doubts else "")
            print(line, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m media.stt", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("transcribe", help="print the final transcript of each WAV, one line per file")
    t.add_argument("wavs", nargs="+", help="WAV files (any rate; mono 16-bit)")
    t.add_argument("--debtor-json", help="the call's facts: debtor_name, company, balance, installment, due_date")
    t.add_argument("--corrections", help="an operator's corrections file (TOML), as STT_CORRECTIONS_FILE")
    t.add_argument("--model", help="a CTranslate2 Whisper directory (default: the bundled Whisper base)")
    t.add_argument("--window", choices=("fit", "full"), default="fit")
    t.add_argument("--vad", choices=("silero", "webrtc"), default="silero")
    t.add_argument("--show-raw", action="store_true", help="also the words before correction, and the doubts")
    t.add_argument("--prompt-names", action="store_true", help="give Whisper the debtor's names (STT_PROMPT_NAMES)")
    args = parser.parse_args(argv)
    missing = [w for w in args.wavs if not Path(w).is_file()]
    if missing:
        parser.error(f"no such file: {', '.join(missing)}")
    try:
        return asyncio.run(_main(args))
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
