"""How often the agent reaches the right outcome, with every field right, over written dialogs.

    python -m bench.dialogue_accuracy                  # the newest blind set (never tuned on): the honest figure
    python -m bench.dialogue_accuracy --set corpus     # the development corpus the agent is built against
    python -m bench.dialogue_accuracy FILE.json [--llm] [--misses]

A dialog counts as right only when its outcome and every field its `expect` lists come out exactly
(docs/dialogue-spec.md). The figure is printed per outcome too; `--misses` lists what went wrong.

`bench/dialogs/` holds only blind sets not yet tuned on (`blind_N.json`, the highest N is the
newest). Once a blind set has been scored and the agent tuned on its misses, it moves into the
corpus (`tests/agent/dialogs/`, every `*.json` there), which `tests/agent/test_corpus.py` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from agent.simulate import Dialog, run_dialogs

ROOT = Path(__file__).resolve().parents[1]
BLIND_DIR = ROOT / "bench" / "dialogs"
CORPUS_DIR = ROOT / "tests" / "agent" / "dialogs"
SETS = ("blind", "corpus")


def newest_blind(directory: Path = BLIND_DIR) -> Path | None:
    """The blind set with the highest number (`blind_2.json` after `blind_1.json`), or None."""
    numbered = [(int(m[1]), p) for p in directory.glob("blind_*.json") if (m := re.fullmatch(r"blind_(\d+)\.json",
                                                                                            p.name))]
    return max(numbered)[1] if numbered else None


def corpus_files(directory: Path = CORPUS_DIR) -> list[Path]:
    """Every dialog file of the development corpus (the first corpus, then blind sets folded in)."""
    return sorted(directory.glob("*.json"))


def load_set(name: str) -> tuple[str, list[dict[str, Any]]]:
    """A set's label and its dialogs; SystemExit when there is no blind set to score."""
    if name == "corpus":
        files = corpus_files()
        return "tests/agent/dialogs/*.json", [d for f in files for d in json.loads(f.read_text("utf-8"))]
    path = newest_blind()
    if path is None:
        raise SystemExit(f"no blind set in {BLIND_DIR.relative_to(ROOT)}/ (blind_N.json)")
    return str(path.relative_to(ROOT)), json.loads(path.read_text("utf-8"))


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
    parser.add_argument("--set", choices=SETS, default="blind")
    parser.add_argument("--llm", action="store_true", help="the LLM agent against LLM_BASE_URL")
    parser.add_argument("--misses", action="store_true", help="print each miss with the agent's turns")
    args = parser.parse_args()
    if args.file:
        label, dialogs = str(args.file), json.loads(args.file.read_text("utf-8"))
    else:
        label, dialogs = load_set(args.set)
    results = asyncio.run(run_dialogs([Dialog.from_json(d) for d in dialogs], args.llm, None))
    right, per_outcome, per_right, misses = score(dialogs, results)
    print(f"{label}: {right}/{len(dialogs)} dialogs right ({100 * right / len(dialogs):.1f} %), outcome and every field")
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
