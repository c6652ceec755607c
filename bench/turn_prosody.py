"""End-of-turn decision on labelled turn endings: text rules alone vs text + prosody cues.

    .venv/bin/python -m bench.turn_prosody [--details]

The set is ``bench/turn_endings/`` (Kokoro-82M speaking Spanish; see its generate.py). Each
utterance is decided from its labelled transcript (not a recogniser's: the figure is about the
decision) and, in the second column, also from :func:`media.prosody.prosody_cues` of its audio as
the live loop sees it: the segmenter's clip (speech + ``HANGOVER_S`` of silence), with the final
pause known at decision time (hang-over + ``STT_S`` of speculative decoding).

Figures: accuracy of "complete vs not" (question / finished = complete), the mean wait chosen for
complete turns (lower is better: the caller waits that long after the hang-over for an answer),
and how many unfinished turns would be answered too early (decided complete).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from media.audio import AudioClip, read_wav
from media.prosody import ProsodyCues, prosody_cues
from media.turn import TurnDecision, TurnDetector

SET = Path(__file__).resolve().parent / "turn_endings"
HANGOVER_S = 0.3  # media.segmenter's default: the clip runs through it
STT_S = 0.25  # speculative decode finishing after the hang-over; the pause known when deciding


@dataclass
class Row:
    ident: str
    label: str
    text: str
    cues: ProsodyCues
    text_only: TurnDecision
    with_prosody: TurnDecision


def load(detector: TurnDetector) -> tuple[list[Row], float]:
    items = json.loads((SET / "labels.json").read_text(encoding="utf-8"))
    rows, spent, audio_s = [], 0.0, 0.0
    for item in items:
        clip = read_wav(SET / item["file"]).resampled(8000)
        seg = AudioClip(np.concatenate([clip.pcm, np.zeros(round(HANGOVER_S * 8000), np.int16)]), 8000)
        start = time.perf_counter()
        cues = prosody_cues(seg)
        spent += time.perf_counter() - start
        audio_s += seg.duration_s
        cues = cues.with_pause(HANGOVER_S + STT_S)
        rows.append(Row(item["id"], item["label"], item["text"], cues,
                        detector.decide(item["text"]), detector.decide(item["text"], cues)))
    return rows, 1000.0 * spent / audio_s


def figures(rows: list[Row], pick: str) -> dict[str, float]:
    decided = [(row.label, getattr(row, pick)) for row in rows]
    complete = [d for label, d in decided if label != "unfinished"]
    questions = [d for label, d in decided if label == "question"]
    unfinished = [d for label, d in decided if label == "unfinished"]
    right = sum(d.complete == (label != "unfinished") for label, d in decided)
    return {
        "accuracy": right / len(decided),
        "wait_complete": float(np.mean([d.wait_s for d in complete])),
        "wait_question": float(np.mean([d.wait_s for d in questions])) if questions else float("nan"),
        "wait_unfinished": float(np.mean([d.wait_s for d in unfinished])),
        "early": sum(d.complete for d in unfinished),
        "n_unfinished": len(unfinished),
        "missed": sum(not d.complete for d in complete),
        "n_complete": len(complete),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--details", action="store_true", help="one line per utterance")
    args = parser.parse_args()
    detector = TurnDetector()
    rows, ms_per_s = load(detector)
    counts = {label: sum(r.label == label for r in rows) for label in ("question", "finished", "unfinished")}
    if args.details:
        for r in rows:
            c = r.cues
            print(f"{r.ident:24s} {r.label:10s} {c.pitch:8s} {c.final_st!s:>6s} {c.energy:8s} "
                  f"{r.text_only.reason:14s} -> {r.with_prosody.reason:26s} {r.with_prosody.wait_s:.2f}  {r.text}")
        print()
    text, prosody = figures(rows, "text_only"), figures(rows, "with_prosody")
    print(f"{len(rows)} turn endings: {counts['question']} questions, {counts['finished']} finished, "
          f"{counts['unfinished']} unfinished; prosody_cues {ms_per_s:.2f} ms per s of audio")
    print(f"{'':36s} {'text only':>10s} {'text+prosody':>13s}")
    lines = [
        ("complete-vs-not accuracy", "accuracy", "{:.0%}"),
        ("mean wait, complete turns (s)", "wait_complete", "{:.3f}"),
        ("mean wait, questions (s)", "wait_question", "{:.3f}"),
        ("mean wait, unfinished turns (s)", "wait_unfinished", "{:.3f}"),
    ]
    for name, key, fmt in lines:
        print(f"{name:36s} {fmt.format(text[key]):>10s} {fmt.format(prosody[key]):>13s}")
    for name, key, total in (("unfinished answered too early", "early", "n_unfinished"),
                             ("complete turns held as unfinished", "missed", "n_complete")):
        a, b = f"{text[key]}/{text[total]}", f"{prosody[key]}/{prosody[total]}"
        print(f"{name:36s} {a:>10s} {b:>13s}")
    fired: dict[str, int] = {}
    for r in rows:
        if r.with_prosody.reason != r.text_only.reason:
            fired[r.with_prosody.reason] = fired.get(r.with_prosody.reason, 0) + 1
    print("prosody rules fired: " + (", ".join(f"{k} x{v}" for k, v in sorted(fired.items())) or "none"))


if __name__ == "__main__":
    main()
