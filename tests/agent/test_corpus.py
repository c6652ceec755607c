"""The development corpus: every dialog in tests/agent/dialogs/*.json comes out as its `expect` says.

The corpus is what the rule engine is tuned on: the first 95 dialogs written from the spec, and each
blind set once it was scored and folded in (bench/dialogue_accuracy.py keeps the newest blind set,
never tuned on, for the honest figure).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.simulate import Dialog, build_agent, simulate
from bench.dialogue_accuracy import corpus_files, newest_blind, wrong_fields

DIALOGS = [(f.name, d) for f in corpus_files() for d in json.loads(f.read_text("utf-8"))]


def test_the_corpus_holds_the_first_set_and_the_blind_set_folded_in():
    names = {name for name, _ in DIALOGS}
    assert {"corpus.json", "blind_1.json"} <= names and len(DIALOGS) >= 145
    ids = [d["id"] for _, d in DIALOGS]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("dialog", [d for _, d in DIALOGS], ids=[d["id"] for _, d in DIALOGS])
async def test_a_corpus_dialog_comes_out_as_expected(dialog):
    parsed = Dialog.from_json(dialog)
    result = await simulate(parsed, build_agent(parsed))
    assert wrong_fields(dialog["expect"], result["outcome"]) == {}, result["turns"]


def test_the_blind_set_scored_is_the_newest(tmp_path: Path):
    assert newest_blind(tmp_path) is None
    for n in (1, 2, 10):
        (tmp_path / f"blind_{n}.json").write_text("[]", "utf-8")
    (tmp_path / "blind_x.json").write_text("[]", "utf-8")
    assert newest_blind(tmp_path) == tmp_path / "blind_10.json"
