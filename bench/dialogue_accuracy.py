"""How often the agent reaches the right outcome, with every field right, over written dialogs.

    python -m bench.dialogue_accuracy                  # the blind set (never tuned on): the honest figure
    python -m bench.dialogue_accuracy --set corpus     # the development corpus the agent is built against
    python -m bench.dialogue_accuracy FILE.json [--llm] [--misses]

A dialog counts as right only when its outcome and every field its `expect` lists come out exactly
(docs/dialogue-spec.md). The figure is printed per outcome too; `--misses` lists what went wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from agent.simulate import Dialog, run_dialogs

ROOT = Path(__file__).resolve().parents[1]
SETS = {"blind": ROOT / "bench" / "dialogs" / "blind_1.json",
        "corpus": ROOT / "tests" / "agent" / "dialogs" / "corpus.json"}


def wrong_fields(expect: dict[str, Any], got: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The expected fields that did not come out as expected: {field: (expected, got)}."""
    return {key: (want, got.get(key)) for key, want in expect.items() if not _same(want, got.get(key))}


def _same(want: Any, got: Any) -> bool:
    if want is None or got is None:
        return want is got
    if isinstance(want, bool) or isinstance(got, bool):
        return want is got
    return str(want) == str(got)


def score(dialogs: list[dict[str, Any]], results: list[dict[str, Any]]) -> tuple[int, Counter, Counter, list]:
    right, per_outcome, per_outcome_right, misses = 0, Counter(), Counter(), []
    for dialog, result in zip(dialogs, results, strict=True):
        expect = dialog["expect"]
        wrong = wrong_fields(expect, result["outcome"])
        per_outcome[expect["outcome"]] += 1
        if not wrong:
            right += 1
            per_outcome_right[expect["outcome"]] += 1
        else:
            misses.append((dialog.get("id", "?"), wrong, result))
    return right, per_outcome, per_outcome_right, misses


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dialogue_accuracy")
    parser.add_argument("file", nargs="?", type=Path, help="a JSON list of dialogs with 'expect'")
    parser.add_argument("--set", choices=sorted(SETS), default="blind")
    parser.add_argument("--llm", action="store_true", help="the LLM agent against LLM_BASE_URL")
    parser.add_argument("--misses", action="store_true", help="print each miss with the agent's turns")
    args = parser.parse_args()
    path = args.file or SETS[args.set]
    dialogs = json.loads(path.read_text("utf-8"))
    results = asyncio.run(run_dialogs([Dialog.from_json(d) for d in dialogs], args.llm, None))
    right, per_outcome, per_right, misses = score(dialogs, results)
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
          f"{right}/{len(dialogs)} dialogs right ({100 * right / len(dialogs):.1f} %), outcome and every field")
    for outcome in sorted(per_outcome):
        print(f"  {outcome:<24} {per_right[outcome]}/{per_outcome[outcome]}")
    if args.misses:
        for dialog_id, wrong, result in misses:
            print(f"\n{dialog_id}: " + "; ".join(f"{k} expected {w!r}, got {g!r}" for k, (w, g) in wrong.items()))
            for turn in result["turns"]:
                if turn["debtor"] is not None:
                    print(f"    debtor: {turn['debtor']}")
                print(f"    agent:  {turn['agent']}" + (f"  [{', '.join(t['name'] for t in turn['tools'])}]"
                                                         if turn["tools"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
