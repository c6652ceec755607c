"""Accuracy and speed of the rule engine's Spanish understanding over the labelled tables.

Runs `agent.nlu.understand` over `tests/unit/nlu_cases.py` CASES (the table the unit test holds
to its accuracy floor, tuned on) and `tests/unit/nlu_held_out.py` HELD_OUT (written blind and never
tuned on: the fair estimate of how the rules do on phrasings nobody tried). Prints the accuracy overall and per
intent, each failure with what was expected and what came out (and the rule that fired), and the
mean time per utterance. A case is right when the intent and every entity it names (promise
date, amount, instalments, callback time, RUT) match.

Run: ``.venv/bin/python -m bench.nlu_accuracy [--repeat 200]``.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Sequence

from agent.nlu import Understanding, understand
from tests.unit.nlu_cases import CASES, NOW, Case
from tests.unit.nlu_held_out import HELD_OUT

Failure = tuple[Case, Understanding, list[str]]


def evaluate(cases: Sequence[Case]) -> tuple[Counter[str], Counter[str], list[Failure]]:
    """(right per intent, cases per intent, failures) of ``understand`` over ``cases``."""
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    failures: list[Failure] = []
    for case in cases:
        got = understand(case.text, NOW)
        total[case.intent] += 1
        if wrong := case.mismatches(got):
            failures.append((case, got, wrong))
        else:
            right[case.intent] += 1
    return right, total, failures


def report(title: str, cases: Sequence[Case]) -> None:
    right, total, failures = evaluate(cases)
    n, ok = sum(total.values()), sum(right.values())
    print(f"{title}: {ok}/{n} = {ok / n:.1%}")
    for intent in sorted(total, key=lambda i: (-total[i], i)):
        print(f"  {intent:<15} {right[intent]:>3}/{total[intent]:<3} {right[intent] / total[intent]:7.1%}")
    print(f"  failures ({len(failures)}):")
    for case, got, wrong in failures:
        print(f"    {case.text!r}: {'; '.join(wrong)}  [{got.matched}]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=200, help="passes over the tables for the timing")
    args = ap.parse_args()

    report("table (tests/unit/nlu_cases.CASES, tuned on)", CASES)
    print()
    report("held out (nlu_held_out.HELD_OUT, written blind, not tuned on)", HELD_OUT)
    print()

    texts = [case.text for case in (*CASES, *HELD_OUT)]
    start = time.perf_counter()
    for _ in range(args.repeat):
        for text in texts:
            understand(text, NOW)
    elapsed = time.perf_counter() - start
    print(f"mean time per utterance: {elapsed / (args.repeat * len(texts)) * 1e6:.1f} µs "
          f"({args.repeat} passes over {len(texts)} utterances, one CPU thread)")


if __name__ == "__main__":
    main()
