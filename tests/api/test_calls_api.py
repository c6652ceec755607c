"""Calls, transcripts, recordings, exports and the figures, read through the API from real rows."""

from __future__ import annotations

import io
import uuid
import wave
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from api.export_formats import COLUMNS
from campaigns.calls import CallLog, CallOutcome, Direction
from campaigns.recordings import RecordingLedger, RecordingRetention
from media.recordings import LocalRecordingStore
from tests.api.conftest import export_rows

PHONE = "+56955550042"


async def answered_call(db_pool, recordings_dir: Path | None = None, *, result: str = "promise",
                caller_says: str = "le pago el quince") -> uuid.UUID:
    """An answered outbound call with two transcript lines, one turn, a promise and (maybe) a recording."""
    log = CallLog(db_pool)
    attempt = uuid.uuid4()
    await log.open_attempt(attempt_id=attempt, direction=Direction.OUTBOUND, channel_id=f"c-{attempt}",
                           remote_number=PHONE, endpoint="PJSIP/x@trunk")
    await log.mark_answered(attempt)
    async with db_pool.connection() as conn:
        await conn.execute(
            """INSERT INTO call_lines (attempt_id, speaker, text, start_ms, end_ms, source) VALUES
               (%s, 'agent', 'Hola, habla Sofía.', 0, 1500, 'tts'), (%s, 'caller', %s, 2100, 3900, 'stt')""",
            (attempt, attempt, caller_says))
        await conn.execute(
            """UPDATE call_attempts SET result = %s, cost = 12.5, usage = '{"stt_audio_s": 2}'
                WHERE id = %s""", (result, attempt))
        cur = await conn.execute("INSERT INTO debtors (national_id, full_name) VALUES (%s, 'Ana Test') "
                                 "RETURNING id", (f"{uuid.uuid4().int % 10**8}-5",))
        (debtor_id,) = await cur.fetchone()
        await conn.execute("UPDATE call_attempts SET debtor_id = %s WHERE id = %s", (debtor_id, attempt))
        if result == "promise":
            await conn.execute("INSERT INTO promises (attempt_id, debtor_id, promised_date, amount) "
                               "VALUES (%s, %s, %s, 50000)", (attempt, debtor_id, date(2026, 12, 15)))
        if recordings_dir is not None:
            relative = f"2026/11/23/{attempt}.wav"
            path = recordings_dir / relative
            path.parent.mkdir(parents=True)
            with wave.open(str(path), "wb") as w:
                w.setnchannels(2)
                w.setsampwidth(2)
                w.setframerate(8000)
                w.writeframes(np.zeros(16000, dtype="<i2").tobytes())
            await conn.execute("UPDATE call_attempts SET recording_path = %s, recording_ms = 1000 WHERE id = %s",
                               (relative, attempt))
    await log.add_turn(attempt, {
        "index": 0, "user_text": caller_says, "confidence": 0.9, "stt_final_ms": 200.0,
        "agent_first_output_ms": 20.0, "tts_first_audio_ms": 300.0, "first_rtp_out_ms": 320.0,
        "voice_to_voice_ms": 640.0, "agent_planned": "Perfecto.", "agent_spoken": "Perfecto.",
        "interrupted": False, "turn_rule": "silence", "tool_calls": [], "stt_speculative": False,
        "sentiment": "positive", "frustrated": False})
    await log.close_attempt(attempt, outcome=CallOutcome.ANSWERED, hangup_cause=16,
                            hangup_cause_txt="Normal Clearing")
    return attempt


async def test_a_call_with_its_results(api, db_pool, recordings_dir):
    attempt = await answered_call(db_pool, recordings_dir)
    status, page, _ = await api.get("/api/v1/calls?limit=500")
    assert status == 200
    listed = next(c for c in page["items"] if c["id"] == str(attempt))
    assert listed["remote_number"] != PHONE and listed["remote_number"].endswith("042")  # masked
    assert (listed["outcome"], listed["result"], listed["has_recording"]) == ("answered", "promise", True)
    assert listed["cost"] == 12.5 and listed["debtor"] == "Ana Test"

    status, one, _ = await api.get(f"/api/v1/calls/{attempt}")
    assert status == 200
    assert one["promise"] == {"date": "2026-12-15", "amount": 50000.0, "installments": None, "status": "open"}
    assert one["turns"][0]["voice_to_voice_ms"] == 640.0 and one["usage"] == {"stt_audio_s": 2}
    assert (one["turns"][0]["sentiment"], one["turns"][0]["frustrated"]) == ("positive", False)
    assert one["duration_s"] is not None and one["duration_s"] >= 0

    status, transcript, _ = await api.get(f"/api/v1/calls/{attempt}/transcript")
    assert [(line["speaker"], line["start_ms"]) for line in transcript["lines"]] == [("agent", 0), ("caller", 2100)]
    assert transcript["lines"][1]["text"] == "le pago el quince"

    status, wav, resp = await api.get(f"/api/v1/calls/{attempt}/recording")
    assert status == 200 and resp.content_type == "audio/wav"
    with wave.open(io.BytesIO(wav)) as w:
        assert (w.getnchannels(), w.getframerate()) == (2, 8000)

    status, events, _ = await api.get(f"/api/v1/calls/{attempt}/events")
    assert next(e["kind"] for e in events["events"]) == "attempt_opened"
    assert events["events"][-1]["kind"] == "attempt_closed"


async def test_identifiers_said_or_keyed_are_masked_in_transcripts_and_turns(api, db_pool):
    """The database keeps what the caller said; what the API hands a dashboard or an integrator does not
    carry the caller's RUT, keyed (DTMF) or said, while menu keys and amounts stay readable."""
    attempt = await answered_call(db_pool, caller_says="mi rut es 14.567.890-0 y debo $1.500.000")
    async with db_pool.connection() as conn:
        await conn.execute(
            """INSERT INTO call_lines (attempt_id, speaker, text, start_ms, end_ms, source) VALUES
               (%s, 'caller', '145678900#', 5000, 7000, 'dtmf'), (%s, 'caller', '0', 8000, 8000, 'dtmf')""",
            (attempt, attempt))
    await CallLog(db_pool).add_turn(attempt, {  # latencies as answered_call's: the summary test averages them
        "index": 1, "user_text": "1456789*", "confidence": 1.0, "stt_final_ms": 0.0,
        "agent_first_output_ms": 20.0, "tts_first_audio_ms": 300.0, "first_rtp_out_ms": 320.0,
        "voice_to_voice_ms": 640.0, "agent_planned": "Gracias.", "agent_spoken": "Gracias.",
        "interrupted": False, "turn_rule": "dtmf", "tool_calls": [], "stt_speculative": False})

    status, transcript, _ = await api.get(f"/api/v1/calls/{attempt}/transcript")
    assert status == 200
    assert [line["text"] for line in transcript["lines"][1:]] == [
        "mi rut es *****890-0 y debo $1.500.000", "*****890-0", "0"]
    status, one, _ = await api.get(f"/api/v1/calls/{attempt}")
    assert [t["user_text"] for t in one["turns"]] == ["mi rut es *****890-0 y debo $1.500.000", "****789-K"]
    assert [t["sentiment"] for t in one["turns"]] == ["positive", None]  # a turn stored unscored says so
    async with db_pool.connection() as conn:  # the stored record is whole
        cur = await conn.execute("SELECT text FROM call_lines WHERE attempt_id = %s AND source = 'dtmf' "
                                 "ORDER BY start_ms", (attempt,))
        assert [r[0] for r in await cur.fetchall()] == ["145678900#", "0"]


async def test_a_recording_deleted_by_the_retention_is_gone_and_says_so(api, db_pool, recordings_dir):
    attempt = await answered_call(db_pool, recordings_dir)
    async with db_pool.connection() as conn:
        await conn.execute("UPDATE call_attempts SET created_at = now() - interval '100 days' WHERE id = %s",
                           (attempt,))
    retention = RecordingRetention(RecordingLedger(db_pool), LocalRecordingStore(recordings_dir), timedelta(days=90))
    assert await retention.run_once() >= 1

    status, body, _ = await api.get(f"/api/v1/calls/{attempt}/recording")
    assert status == 410 and "RECORDING_RETENTION_DAYS" in body["error"]["message"]
    status, one, _ = await api.get(f"/api/v1/calls/{attempt}")
    assert (one["has_recording"], one["recording_deleted_at"] is not None, one["result"]) == (False, True, "promise")
    status, transcript, _ = await api.get(f"/api/v1/calls/{attempt}/transcript")
    assert len(transcript["lines"]) == 2


async def test_filters_and_missing_things(api, db_pool):
    attempt = await answered_call(db_pool, result="refused")
    status, page, _ = await api.get("/api/v1/calls", params={"outcome": "busy", "limit": "500"})
    assert status == 200 and str(attempt) not in [c["id"] for c in page["items"]]
    status, page, _ = await api.get("/api/v1/calls", params={"outcome": "answered", "direction": "outbound"})
    assert str(attempt) in [c["id"] for c in page["items"]]
    status, body, _ = await api.get(f"/api/v1/calls/{attempt}/recording")
    assert status == 404 and "no recording" in body["error"]["message"]
    missing = uuid.uuid4()
    for suffix in ("", "/transcript", "/recording", "/events"):
        status, body, _ = await api.get(f"/api/v1/calls/{missing}{suffix}")
        assert status == 404, suffix
    for params in ({"limit": "0"}, {"limit": "501"}, {"outcome": "maybe"}, {"since": "yesterday"}, {"x": "1"}):
        status, body, _ = await api.get("/api/v1/calls", params=params)
        assert status == 422, params
        assert body["error"]["details"]


async def test_export_as_csv_xlsx_and_json(api, db_pool):
    attempt = await answered_call(db_pool)
    async with db_pool.connection() as conn:  # a name that a spreadsheet would run as a formula
        await conn.execute("UPDATE debtors SET full_name = '=HYPERLINK(\"http://x\")' WHERE id = "
                           "(SELECT debtor_id FROM call_attempts WHERE id = %s)", (attempt,))
    status, raw, resp = await api.get("/api/v1/export/calls", params={"format": "csv"})
    assert status == 200 and resp.content_type == "text/csv"
    row = next(r for r in export_rows(raw) if r["id"] == str(attempt))
    # as a Spanish-locale Excel reads it: decimal comma, Spanish words, dates it recognises
    assert row["promised_amount"] == "50000,00" and row["promised_date"] == "2026-12-15"
    assert (row["outcome"], row["direction"]) == ("contestada", "saliente")
    assert PHONE not in raw.decode() and row["remote_number"].endswith("042")
    assert row["debtor"] == "'=HYPERLINK(\"http://x\")"  # quoted: text, not a formula

    status, raw, resp = await api.get("/api/v1/export/calls", params={"format": "xlsx"})
    assert status == 200 and resp.content_type.endswith("spreadsheetml.sheet")
    assert resp.headers["Content-Disposition"].endswith('llamadas.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(raw)).active
    header, *cells = sheet.iter_rows()
    assert [c.value for c in header][:3] == ["ID llamada", "Fecha (UTC)", "Dirección"]
    by_key = dict(zip((c.key for c in COLUMNS), next(r for r in cells if r[0].value == str(attempt)), strict=True))
    assert by_key["promised_amount"].value == 50000 and isinstance(by_key["created_at"].value, datetime)
    assert by_key["promised_date"].value.date() == date(2026, 12, 15)
    # the name exactly as it was, stored as text: shown, never run
    assert (by_key["debtor"].value, by_key["debtor"].data_type) == ('=HYPERLINK("http://x")', "s")
    assert not any(c.data_type == "f" for r in cells for c in r)
    assert PHONE not in str([c.value for r in cells for c in r])

    status, body, _ = await api.get("/api/v1/export/calls", params={"format": "json"})
    assert str(attempt) in [r["id"] for r in body["items"]]
    status, body, _ = await api.get("/api/v1/export/calls", params={"format": "xml"})
    assert status == 422


async def test_summary_figures_and_prometheus(api, db_pool):
    await answered_call(db_pool)
    await answered_call(db_pool, result="refused")
    status, summary, _ = await api.get("/api/v1/metrics/summary", params={"hours": "1"})
    assert status == 200
    assert summary["answered"] >= 2 and 0 < summary["contact_rate"] <= 1
    assert summary["promises"] >= 1 and 0 < summary["promise_rate"] <= 1
    assert summary["cost_total"] >= 25 and summary["currency"] == "CLP"
    async with db_pool.connection() as conn:  # the session's database holds other tests' turns of this hour too
        cur = await conn.execute(
            """SELECT avg(t.voice_to_voice_ms) FROM call_turns t JOIN call_attempts a ON a.id = t.attempt_id
                WHERE a.created_at >= now() - interval '1 hour' AND NOT t.interrupted""")
        (expected,) = await cur.fetchone()
    assert summary["avg_voice_to_voice_ms"] == pytest.approx(expected, abs=0.01)
    assert sum(h["outcomes"].get("answered", 0) for h in summary["by_hour"]) == summary["answered"]
    status, text, resp = await api.get("/metrics")
    assert status == 200 and resp.content_type == "text/plain"
    metrics = text.decode()
    assert "callcenter_ari_connected 1.0" in metrics
    def sample(prefix: str) -> float:
        return float(next(line for line in metrics.splitlines() if line.startswith(prefix)).split()[-1])

    # by convention: what only grows is a _total counter, latencies are _seconds histograms
    assert "# TYPE callcenter_calls_total counter" in metrics
    assert sample('callcenter_calls_total{direction="outbound",outcome="answered"}') >= 2
    assert "# TYPE callcenter_voice_to_voice_seconds histogram" in metrics
    # both calls' turns took 640 ms: inside the 0.7 s bucket, outside the 0.6 s one
    assert (sample('callcenter_voice_to_voice_seconds_bucket{le="0.7"}')
            - sample('callcenter_voice_to_voice_seconds_bucket{le="0.6"}')) >= 2
    assert sample('callcenter_voice_to_voice_seconds_bucket{le="+Inf"}') == sample(
        "callcenter_voice_to_voice_seconds_count")
    assert sample("process_resident_memory_bytes") > 0  # the process collector
    assert "_avg_" not in metrics
    status, _, _ = await api.get("/metrics", token=None)
    assert status == 401
    for hours in ("0", "2161", "soon"):
        status, body, _ = await api.get("/api/v1/metrics/summary", params={"hours": hours})
        assert status == 422 and body["error"]["details"][0]["field"] == "hours", hours


async def test_live_calls_and_waves(api, db_pool):
    log = CallLog(db_pool)
    attempt = uuid.uuid4()
    await log.open_attempt(attempt_id=attempt, direction=Direction.INBOUND, channel_id=f"c-{attempt}",
                           remote_number=PHONE)
    status, live, _ = await api.get("/api/v1/live")
    assert status == 200
    call = next(c for c in live["calls"] if c["id"] == str(attempt))
    assert call["state"] == "ringing" and call["remote_number"] != PHONE
    await log.close_attempt(attempt, outcome=CallOutcome.FAILED, hangup_cause=None, hangup_cause_txt=None)
    status, live, _ = await api.get("/api/v1/live")
    assert str(attempt) not in [c["id"] for c in live["calls"]]
    assert isinstance(live["waves"], list)


async def test_a_corrected_turn_shows_what_was_heard_and_what_was_doubted_masked(api, db_pool):
    """A supervisor reviews the correction stage beside the transcript the agent acted on."""
    attempt = await answered_call(db_pool, caller_says="hola")
    await CallLog(db_pool).add_turn(attempt, {
        "index": 2, "user_text": "mi RUT es 14.567.890-0, le pago [monto incierto]", "confidence": 0.6,
        "stt_final_ms": 300.0, "agent_first_output_ms": 320.0, "tts_first_audio_ms": 340.0,
        "first_rtp_out_ms": 360.0, "voice_to_voice_ms": 360.0, "agent_planned": "", "agent_spoken": "",
        "interrupted": False, "turn_rule": "complete", "tool_calls": [], "stt_speculative": True,
        "heard_raw": "mi root es 14.567.890-0, le pago 14,550 pesos",
        "stt_doubts": ["amount 14550: neither the debt's figures [104050] nor a round amount"]})
    status, one, _ = await api.get(f"/api/v1/calls/{attempt}")
    assert status == 200
    turn = next(t for t in one["turns"] if t["idx"] == 2)
    assert turn["heard_raw"] == "mi root es *****890-0, le pago 14,550 pesos"  # the RUT masked here too
    assert turn["stt_doubts"] == ["amount 14550: neither the debt's figures [104050] nor a round amount"]
    assert all(t["heard_raw"] is None and t["stt_doubts"] == [] for t in one["turns"] if t["idx"] != 2)
