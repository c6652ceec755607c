"""Benchmark: how well the call hears a debtor, stage by stage, on the spoken set (bench/speech_set).

    python -m bench.stt_accuracy [--set blind2] [--noise] [--limit N]

The set is 58 collections utterances (Chilean, Argentine, Colombian), voiced by several Kokoro voices
and espeak, through G.711 at 8 kHz, with their amounts, dates and RUTs labelled and the facts of the
debtor each was said to. It was written blind to the correction stage, but has been looked at while the
system was tuned since; ``--set blind2`` reads the second set instead (bench/speech_set/blind2: 48
utterances written blind later, not used for tuning). Stages, each on top of the last:

* ``before``: Whisper base as the app ran it until now (beam 1, the classic 30 s window, no prompt);
* ``fit``: the window cut to the utterance (``WhisperStt(window="fit")``, the live default);
* ``correction (live)``: the correction stage with the call's vocabulary: what the agent and the record get;
* ``+ names prompt``: also Whisper prompted with the call's names (``STT_PROMPT_NAMES``, off by default).

For each: WER (numbers compared as words), the decode time, and entity accuracy: the amount, date and
RUT the agent's own parsers (`agent.nlu`) read from the transcript, against what they read from the
reference text. ``safe`` counts an entity as handled when it is right *or* the correction stage flagged
it (an amount masked and asked again, or a doubt left for the promise's read-back): a wrong figure that
nobody flagged is the failure that matters. ``--noise`` repeats ``before`` and the live stage with street,
babble and hum noise at 20, 10 and 5 dB SNR on the utterances that carry an entity.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from agent.nlu.dates import parse_date
from agent.nlu.numbers import parse_amount, parse_rut
from bench import percentile
from bench.speech_set import NOISE_KINDS, Utterance, load_set, with_noise, word_errors
from bench.speech_set.blind2 import BLIND2
from media.audio import AudioClip
from media.stt import UNCLEAR_AMOUNT, CallVocabulary, CorrectedStt, Transcript, WhisperStt, load_corrections

TODAY = date(2026, 12, 3)  # the day the set's dates are said on
SNRS = (20.0, 10.0, 5.0)
SETS = {"main": None, "blind2": BLIND2}  # name -> load_set root (None: bench/speech_set itself)


@dataclass
class Score:
    errors: int = 0
    words: int = 0
    decode_s: list[float] = field(default_factory=list)
    entities: dict[str, list[str]] = field(default_factory=lambda: {"amount": [], "date": [], "rut": []})
    misses: list[str] = field(default_factory=list)

    def add(self, u: Utterance, t: Transcript) -> None:
        e, n = word_errors(u.text, t.text)
        self.errors += e
        self.words += n
        self.decode_s.append(t.decode_s)
        flagged = UNCLEAR_AMOUNT in t.text or bool(t.doubts)
        for kind, parse in (("amount", parse_amount), ("date", lambda s: parse_date(s, TODAY)),
                            ("rut", parse_rut)):
            truth = parse(u.text)
            if truth is None:
                continue
            heard = parse(t.text.replace(UNCLEAR_AMOUNT, " "))
            verdict = "right" if heard == truth else "flagged" if flagged else "wrong"
            self.entities[kind].append(verdict)
            if verdict != "right":
                self.misses.append(f"{u.id} {kind} {verdict}: {truth} heard {heard} in {t.text!r}")

    def row(self, name: str) -> str:
        cells = [f"{name:<22}", f"{self.errors / max(1, self.words):6.1%}"]
        for kind in ("amount", "date", "rut"):
            v = self.entities[kind]
            right = v.count("right") / len(v) if v else 0.0
            safe = (v.count("right") + v.count("flagged")) / len(v) if v else 0.0
            cells.append(f"{right:6.0%} {safe:5.0%} /{len(v):<3}")
        ms = sorted(x * 1000 for x in self.decode_s)
        cells.append(f"{statistics.median(ms):5.0f} {percentile(ms, 0.9):5.0f}")
        return " | ".join(cells)


HEADER = ("stage                  |   WER  | amount right safe /n | date right safe /n  "
          "| RUT right safe /n  | decode ms p50 p90")

Stage = tuple[str, WhisperStt, Callable[[Utterance], CorrectedStt | None]]


async def _score(stage: Stage, items: list[tuple[Utterance, AudioClip]]) -> Score:
    _, engine, corrector = stage
    score = Score()
    for u, clip in items:
        stt = corrector(u)
        t = await (stt.transcribe(clip) if stt is not None else engine.transcribe(clip))
        score.add(u, t)
    return score


async def main(args: argparse.Namespace) -> None:
    utterances = load_set(SETS[args.set])[: args.limit or None]
    corrections = load_corrections()

    def vocabulary(u: Utterance) -> CallVocabulary:
        return CallVocabulary.from_facts(u.facts, corrections)

    async with WhisperStt(window="full") as full, WhisperStt(window="fit") as fit:
        stages: list[Stage] = [
            ("before (30 s window)", full, lambda u: None),
            ("fit window", fit, lambda u: None),
            ("+ correction (live)", fit,
             lambda u: CorrectedStt.for_call(fit, vocabulary(u), prompt_names=False)),
            ("+ names prompt", fit, lambda u: CorrectedStt.for_call(fit, vocabulary(u), prompt_names=True)),
        ]
        live_stage = stages[2]
        clean = [(u, u.clip) for u in utterances]
        print(f"spoken set {args.set!r}: {len(utterances)} utterances, clean (G.711, 8 kHz)\n{HEADER}")
        live: Score | None = None
        for stage in stages:
            score = await _score(stage, clean)
            print(score.row(stage[0]), flush=True)
            if stage is live_stage:
                live = score
        kokoro = [(u, c) for u, c in clean if not u.voice.startswith("espeak")]
        print(f"\nneural voices only ({len(kokoro)}; espeak's robotic voice left out)\n{HEADER}")
        for stage in (stages[0], live_stage):
            print((await _score(stage, kokoro)).row(stage[0]), flush=True)
        if live is not None and live.misses:
            print("\nentities not right after correction (live):")
            for miss in live.misses:
                print(f"  {miss}")
        if args.noise:
            with_entities = [u for u in utterances if u.amounts or u.dates or u.rut]
            print(f"\nwith noise ({len(with_entities)} utterances that carry an amount, date or RUT)\n{HEADER}")
            for kind in NOISE_KINDS:
                for snr in SNRS:
                    noisy = [(u, with_noise(u.clip, kind, snr, seed=i)) for i, u in enumerate(with_entities)]
                    for stage, name in ((stages[0], "before"), (live_stage, "live")):
                        score = await _score(stage, noisy)
                        print(score.row(f"{kind} {snr:.0f} dB {name}"), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", choices=sorted(SETS), default="main",
                        help="which spoken set: main (bench/speech_set, default) or blind2")
    parser.add_argument("--noise", action="store_true", help="also street, babble and hum at 20/10/5 dB")
    parser.add_argument("--limit", type=int, default=0, help="only the first N utterances (a quick look)")
    asyncio.run(main(parser.parse_args()))
