"""`python -m media.stt transcribe`: what a call would have heard of each WAV, one line per file, in order."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.phones.audio import make_caller_script, make_silence_wav, make_spanish_wav

ROOT = Path(__file__).resolve().parents[2]


def transcribe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "media.stt", "transcribe", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=300, check=False)


def test_one_line_per_file_in_the_order_given(tmp_path: Path) -> None:
    person = make_spanish_wav("Quiero hablar con una persona.", tmp_path / "a.wav", wpm=130)
    quiet = make_silence_wav(tmp_path / "b.wav", 2.0)
    # Two utterances with a pause between them: the call hears both, joined.
    two = make_caller_script([0.5, "No me vuelvan a llamar.", 0.8, "Quiero hablar con una persona.", 0.5],
                             tmp_path / "c.wav", wpm=130)
    run = transcribe(str(person), str(quiet), str(two))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.split("\n")[:-1]
    assert len(lines) == 3, run.stdout
    assert "persona" in lines[0].lower()
    assert lines[1] == ""  # silence: nothing said, and no subtitle credits either
    # Both utterances, in order. The first is found by "vuelv": Whisper base has heard espeak's "No me
    # vuelvan a llamar" as "No me vuelva, ya más" (CI), and this test is about the lines, not the words.
    both = lines[2].lower()
    assert "vuelv" in both and "persona" in both, lines[2]
    assert both.index("vuelv") < both.index("persona")


def test_the_call_s_facts_and_the_operator_s_list_apply_and_the_raw_words_are_shown(tmp_path: Path) -> None:
    # (How amounts are checked against the facts is tested on text: tests/unit/test_stt_correction.py.
    # Here Whisper's reading of espeak's amounts varies run to run; "persona" it always hears.)
    wav = make_spanish_wav("Quiero hablar con una persona.", tmp_path / "a.wav", wpm=130)
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"debtor_name": "Ana Rojas", "company": "Banco Andino", "balance": 20000}))
    mine = tmp_path / "mine.toml"
    mine.write_text('[replace]\n"una persona" = "una ejecutiva"\n', encoding="utf-8")
    run = transcribe(str(wav), "--debtor-json", str(facts), "--corrections", str(mine), "--show-raw")
    assert run.returncode == 0, run.stderr
    corrected, raw = run.stdout.strip().split("\t")[:2]
    assert "ejecutiva" in corrected.lower() and "persona" not in corrected.lower()
    assert raw.startswith("[raw: ") and "persona" in raw.lower()


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    run = transcribe(str(tmp_path / "nope.wav"))
    assert run.returncode == 2 and "no such file" in run.stderr
