"""`check-config --connect` where nothing answers: each unreachable part is its own line with its fix, the
checks that need it say they were not run, and the speech models (installed here) still pass."""

from __future__ import annotations

import io

from ari_app.preflight import CheckResult, print_report, run_checks
from ari_app.settings import Settings

NOBODY = "127.0.0.1:9"  # the discard port: nothing listens on it


async def test_nothing_reachable_gives_one_line_each_with_its_fix() -> None:
    settings = Settings(ARI_URL=f"http://{NOBODY}", DATABASE_URL=f"postgresql://callcenter:s3cret@{NOBODY}/callcenter")
    results = await run_checks(settings)
    by_name = {r.name: r for r in results}
    assert list(by_name) == ["ARI", "trunk", "database", "Stasis app", "speech models"]
    ari, database = by_name["ARI"], by_name["database"]
    assert not ari.ok and not ari.skipped and f"no answer from http://{NOBODY}" in ari.message
    assert "start Asterisk" in ari.fix
    assert not database.ok and not database.skipped and "cannot connect to" in database.message
    assert "start PostgreSQL" in database.fix and "s3cret" not in database.line()
    assert by_name["trunk"].skipped and by_name["Stasis app"].skipped
    assert by_name["speech models"].ok, by_name["speech models"].line()

    out = io.StringIO()
    assert print_report(results, out) == 1
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines[:-1]] == ["FAIL", "skip", "FAIL", "skip", "ok"]
    assert lines[-1] == "2 problem(s)"
    assert all("; fix: " in line for line in lines if line.startswith("FAIL"))


def test_all_passed_is_exit_code_0_warnings_included() -> None:
    out = io.StringIO()
    assert print_report([CheckResult("ARI", True, "Asterisk 22")], out) == 0
    assert out.getvalue().splitlines() == ["ok    ARI: Asterisk 22", "all checks passed"]
    out = io.StringIO()
    warned = CheckResult("trunk", True, "online, but its qualify is off", "set TRUNK_QUALIFY_FREQUENCY", warning=True)
    assert print_report([CheckResult("ARI", True, "Asterisk 22"), warned], out) == 0
    assert out.getvalue().splitlines()[1:] == ["warn  trunk: online, but its qualify is off; fix: set TRUNK_QUALIFY_FREQUENCY",
                                               "all checks passed (1 warning)"]


async def test_an_offline_model_directory_without_its_model_is_the_speech_models_line() -> None:
    settings = Settings(ARI_URL=f"http://{NOBODY}", DATABASE_URL=f"postgresql://u:p@{NOBODY}/db",
                        STT_OFFLINE_MODEL_PATH="/nonexistent/large-v3")
    speech = next(r for r in await run_checks(settings) if r.name == "speech models")
    assert not speech.ok and "STT_OFFLINE_MODEL_PATH /nonexistent/large-v3 has no model.bin" in speech.message
