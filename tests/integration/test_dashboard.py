"""The supervisor dashboard in headless Chromium, against the running app, after a real lab call.

A debtor's phone (baresip) promises to pay through the real Asterisk; then the call center runs
again (as after a restart, with the operator API on a free port) and Chromium loads the dashboard:
the call is listed with its outcome and result, its transcript shows the caller's words, its
recording plays, and the summary counts it. The screenshot is kept in tests/artifacts/dashboard/.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from ari_app.app import CallCenterApp
from ari_app.settings import LAB_API_TOKEN
from campaigns.calls import CallLog
from tests.browser import chromium
from tests.integration.conftest import app_settings
from tests.integration.test_collections_call import IDENTITY, campaign_call, twice

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "dashboard"


async def _analysed(db_pool, attempt_id: str, timeout_s: float = 60.0) -> None:
    for _ in range(int(timeout_s / 0.5)):
        async with db_pool.connection() as conn:
            cur = await conn.execute("SELECT status FROM call_analyses WHERE attempt_id = %s", (attempt_id,))
            row = await cur.fetchone()
        if row and row[0] == "done":
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"call {attempt_id} was not analysed within {timeout_s} s: {row}")


def _look(url: str, attempt_id: str, n_lines: int) -> dict[str, object]:
    """What a supervisor sees (Selenium is synchronous: this runs in a thread, the app serves on)."""
    call = f'[data-testid="call-row"][data-call-id="{attempt_id}"]'
    detail = '[data-testid="call-detail"]'
    with chromium(artifacts=ARTIFACTS) as b:
        b.open(f"{url}/dashboard#token={LAB_API_TOKEN}")
        row = b.wait_for(call)
        outcome = b.find(f'{call} [data-testid="call-outcome"]').get_attribute("data-outcome")
        result = b.find(f'{call} [data-testid="call-result"]').get_attribute("data-result")
        b.click(call)
        b.wait_for(f'{detail}[data-state="ready"][data-loaded-id="{attempt_id}"]')
        b.wait_count(f'{detail} [data-testid="transcript-line"]', n_lines)
        lines = [(e.get_attribute("data-speaker"), e.text) for e in b.find_all(f'{detail} [data-testid="transcript-line"]')]
        audio = b.wait_for(f'{detail} [data-testid="recording-audio"][data-state="ready"]')
        kpi_calls = b.find('[data-testid="kpi-calls"]').text
        shot = b.screenshot("dashboard-after-a-lab-call")
        return {"row": row.text, "outcome": outcome, "result": result, "lines": lines,
                "audio_src": audio.get_attribute("src"), "kpi_calls": kpi_calls, "screenshot": shot,
                "console_errors": b.console_errors()}


async def test_the_dashboard_shows_a_lab_call_its_outcome_and_its_transcript(database_url, db_pool, tmp_path):
    # The promise call of test_collections_call; what the dashboard must show is what the database holds
    # (Whisper through G.711 sometimes misses the final "de acuerdo": the call then has no result of its
    # own, the job's reason is 'reached', and the page shows no result either).
    result = await campaign_call(db_pool, database_url, tmp_path, [
        *IDENTITY, "Le puedo pagar cincuenta mil pesos el quince de diciembre.", 14.0, *twice("Perfecto, de acuerdo.")])
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT id::text, outcome, result FROM call_attempts WHERE debtor_id = %s",
                                 (result.debtor_id,))
        attempt_id, outcome, call_result = await cur.fetchone()
    assert outcome == "answered" and call_result in ("promise", None), result.why()
    lines = await CallLog(db_pool).lines(uuid.UUID(attempt_id))
    assert any(line.speaker == "caller" for line in lines), result.why()

    settings = app_settings(database_url, RECORDINGS_DIR=str(tmp_path / "recordings"), ANALYSIS_ENABLED=True)
    async with CallCenterApp(settings) as app:
        await app.wait_ready()
        assert app.api is not None
        await _analysed(db_pool, attempt_id)
        seen = await asyncio.to_thread(_look, app.api.url, attempt_id, len(lines))

    assert (seen["outcome"], seen["result"]) == ("answered", call_result or ""), seen
    # Every line, in order, with its speaker and words (the page adds the mm:ss offset and a label).
    assert [speaker for speaker, _ in seen["lines"]] == [line.speaker for line in lines], seen["lines"]
    assert all(line.text in text for (_, text), line in zip(seen["lines"], lines, strict=True)), seen["lines"]
    assert str(seen["audio_src"]).startswith("blob:"), seen  # fetched with the token, played from memory
    assert int(seen["kpi_calls"]) >= 1, seen
    assert Path(str(seen["screenshot"])).stat().st_size > 10_000
    assert not seen["console_errors"], seen["console_errors"]
