"""Offline re-processing on the real stack: PostgreSQL, the bundled Whisper base, espeak-ng speech.

Each call is a real stereo recording (the caller left, the agent right, on the call's timeline) of
espeak-ng Spanish at 130 words a minute, with call_lines at the times the phrases were placed and
call_turns whose live confidence makes the call weak or strong.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
import wave
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from analysis import load_classification
from analysis.store import AnalysisStore
from analysis.worker import AnalysisWorker
from ari_app.reprocess import BUNDLED, Reprocessor
from campaigns.calls import CallLog, CallOutcome, Direction
from campaigns.transcripts import TranscriptVersions
from media.audio import AudioClip, read_wav
from media.recordings import LocalRecordingStore
from media.stt import WhisperStt
from tests.phones.audio import make_spanish_wav

ROOT = Path(__file__).resolve().parents[2]
RATE = 8000
# (speaker, what is said, what the live recogniser wrote for a caller line)
SCRIPT = [
    ("agent", "Hola, le habla Sofía, del Banco Andino.", None),
    ("caller", "Quiero hablar con una persona.", "kiero ablar con unap versona"),
    ("agent", "Muy bien, le comunico con un ejecutivo.", None),
    ("caller", "No me vuelvan a llamar.", "no me buelban a yamar"),
]
GAP_MS = 600


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> list[AudioClip]:
    folder = tmp_path_factory.mktemp("speech")
    return [read_wav(make_spanish_wav(text, folder / f"{i}.wav", rate=RATE, wpm=130))
            for i, (_, text, _) in enumerate(SCRIPT)]


@pytest.fixture(scope="module")
def stt():
    """One engine for the module (the model loads on the first decode), closed at the end."""
    engine = WhisperStt(beam_size=5)
    yield engine
    if engine._executor is not None:
        engine._executor.shutdown(wait=True)


async def recorded_call(pool, recordings: Path, speech: list[AudioClip], *, confidence: float,
                        created_at: datetime) -> uuid.UUID:
    """An answered call with its stereo recording, its lines at their places in it, and one turn per
    caller line with the live text and `confidence`."""
    attempt = uuid.uuid4()
    log = CallLog(pool)
    await log.open_attempt(attempt_id=attempt, direction=Direction.OUTBOUND, channel_id=f"c-{attempt}",
                           remote_number="+56955550077", endpoint="PJSIP/x@trunk")
    await log.mark_answered(attempt)
    left, right, lines, at_ms = [], [], [], 300
    for (speaker, text, live), clip in zip(SCRIPT, speech, strict=True):
        n = len(clip.pcm)
        ms = n * 1000 // RATE
        lines.append((speaker, live or text, at_ms, at_ms + ms, "stt" if speaker == "caller" else "tts"))
        (left if speaker == "caller" else right).append((at_ms, clip.pcm))
        at_ms += ms + GAP_MS
    total = at_ms * RATE // 1000
    stereo = np.zeros((total, 2), dtype=np.int16)
    for channel, placed in ((0, left), (1, right)):
        for start_ms, pcm in placed:
            a = start_ms * RATE // 1000
            stereo[a:a + len(pcm), channel] = pcm
    key = f"{created_at:%Y/%m/%d}/{attempt}.wav"
    path = recordings / key
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(stereo.astype("<i2").tobytes())
    async with pool.connection() as conn:
        for line in lines:
            await conn.execute("INSERT INTO call_lines (attempt_id, speaker, text, start_ms, end_ms, source) "
                               "VALUES (%s, %s, %s, %s, %s, %s)", (attempt, *line))
    for index, live in enumerate(live for speaker, _, live in SCRIPT if speaker == "caller"):
        await log.add_turn(attempt, {
            "index": index, "user_text": live,
            "confidence": confidence, "stt_final_ms": 300.0, "agent_first_output_ms": 20.0,
            "tts_first_audio_ms": 300.0, "first_rtp_out_ms": 320.0, "voice_to_voice_ms": 700.0,
            "agent_planned": "", "agent_spoken": "", "interrupted": False, "turn_rule": "silence",
            "tool_calls": [], "stt_speculative": False})
    await log.close_attempt(attempt, outcome=CallOutcome.ANSWERED, hangup_cause=16,
                            hangup_cause_txt="Normal Clearing")
    async with pool.connection() as conn:
        await conn.execute("UPDATE call_attempts SET created_at = %s, recording_path = %s, recording_ms = %s "
                           "WHERE id = %s", (created_at, key, at_ms, attempt))
    return attempt


def a_day(n: int) -> datetime:
    """A day of its own for each test's calls (the session's database is shared)."""
    return datetime(2031, 3, n, 10, 30, tzinfo=UTC)


async def test_the_date_range_picks_the_weak_call_and_not_the_strong_one(db_pool, tmp_path, speech):
    weak = await recorded_call(db_pool, tmp_path, speech, confidence=0.31, created_at=a_day(3))
    strong = await recorded_call(db_pool, tmp_path, speech, confidence=0.88, created_at=a_day(3))
    elsewhere = await recorded_call(db_pool, tmp_path, speech, confidence=0.2, created_at=a_day(5))
    versions = TranscriptVersions(db_pool, weak_confidence=0.55)
    since, until = a_day(3).replace(hour=0, minute=0), a_day(4).replace(hour=0, minute=0)

    picked = {c.attempt_id: c for c in await versions.candidates(since, until, only_weak=True)}
    assert weak in picked and strong not in picked and elsewhere not in picked
    assert picked[weak].turns == 2 and picked[weak].mean_confidence == pytest.approx(0.31, abs=1e-3)
    everything = {c.attempt_id: c for c in await versions.candidates(since, until)}
    assert {weak, strong} <= set(everything) and not everything[strong].weak


async def test_a_call_whose_turns_were_mostly_corrected_is_weak_however_sure_whisper_was(db_pool, tmp_path, speech):
    corrected = await recorded_call(db_pool, tmp_path, speech, confidence=0.9, created_at=a_day(3))
    async with db_pool.connection() as conn:  # the correction stage changed one turn and doubted the other
        await conn.execute("""UPDATE call_turns SET heard_raw = 'le pago 14,550' WHERE attempt_id = %s AND idx = 1""",
                           (corrected,))
        await conn.execute("""UPDATE call_turns SET stt_doubts = '["date word: 0.12"]' WHERE attempt_id = %s
                                 AND idx <> 1""", (corrected,))
    since, until = a_day(3).replace(hour=0, minute=0), a_day(4).replace(hour=0, minute=0)
    picked = {c.attempt_id: c for c in await TranscriptVersions(db_pool).candidates(since, until, only_weak=True)}
    assert corrected in picked and picked[corrected].corrected == 2


async def test_a_weak_call_gets_an_offline_version_and_its_analysis_reads_it(db_pool, tmp_path, speech, stt):
    call = await recorded_call(db_pool, tmp_path, speech, confidence=0.3, created_at=a_day(6))
    versions = TranscriptVersions(db_pool)
    async with AnalysisWorker(AnalysisStore(db_pool), load_classification("")) as analysis:
        reprocessor = Reprocessor(versions, LocalRecordingStore(tmp_path), stt, analysis, model=BUNDLED, beam=5,
                                  live_model=BUNDLED)
        result = await reprocessor.reprocess(call, by="test")

    assert (result.lines, result.beam, result.analysis_version, result.analysis_status) == (2, 5, "offline", "done")
    stored = {v["version"]: v for v in await versions.versions(call)}
    assert set(stored) == {"live", "offline"}
    assert (stored["live"]["model"], stored["live"]["beam"]) == (BUNDLED, 1)
    assert (stored["offline"]["model"], stored["offline"]["beam"]) == (BUNDLED, 5)
    assert stored["live"]["mean_confidence"] == pytest.approx(0.3, abs=1e-3)
    live_lines, offline_lines = stored["live"]["lines"], stored["offline"]["lines"]
    assert [line["speaker"] for line in offline_lines] == [line["speaker"] for line in live_lines]
    said = [line for line in offline_lines if line["speaker"] == "caller"]
    assert all(0 < line["confidence"] <= 1 and line["live_text"] for line in said)
    # Recognised again from the caller's channel alone: the caller's words, none of the agent's.
    assert "persona" in said[0]["text"].lower() and "llamar" in said[1]["text"].lower()
    assert not any("ejecutivo" in line["text"].lower() or "sofía" in line["text"].lower() for line in said)
    # The live rows are what the call heard, unchanged.
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT text FROM call_lines WHERE attempt_id = %s AND speaker = 'caller' "
                                 "ORDER BY start_ms", (call,))
        assert [r[0] for r in await cur.fetchall()] == [SCRIPT[1][2], SCRIPT[3][2]]

    row = await AnalysisStore(db_pool).get(call)
    assert row is not None and row["status"] == "done" and row["transcript_version"] == "offline"
    assert row["result"]["transcript_version"] == "offline"
    assert row["result"]["transcript_source"] == "call_transcript_versions"
    # It read the offline words: "quiero hablar con una persona" asks for a person; the live
    # "kiero ablar con unap versona" does not.
    assert row["result"]["asked_for_human"] is True
    assert (await versions.job(call))["status"] == "done"


async def test_the_cli_reprocesses_a_call_by_id_and_says_what_it_did(database_url, db_pool, tmp_path, speech):
    call = await recorded_call(db_pool, tmp_path, speech, confidence=0.25, created_at=a_day(7))
    env = {**os.environ, "DATABASE_URL": database_url, "RECORDINGS_DIR": str(tmp_path), "LLM_BASE_URL": "",
           "LOG_LEVEL": "WARNING"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ari_app", "reprocess", "--call", str(call), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=100)
    text = out.decode()
    assert proc.returncode == 0, err.decode()[-3000:]
    assert f"call {call}: 2 caller line(s) re-transcribed with {BUNDLED}, beam 5" in text
    assert "mean confidence live 0.25 -> offline" in text
    assert "analysis re-run on the offline transcript: done" in text
    assert "re-processed 1 of 1 call(s)" in text
    assert {v["version"] for v in await TranscriptVersions(db_pool).versions(call)} == {"live", "offline"}


async def test_the_cli_over_a_date_range_only_weak(database_url, db_pool, tmp_path, speech):
    weak = await recorded_call(db_pool, tmp_path, speech, confidence=0.4, created_at=a_day(9))
    strong = await recorded_call(db_pool, tmp_path, speech, confidence=0.9, created_at=a_day(9))
    env = {**os.environ, "DATABASE_URL": database_url, "RECORDINGS_DIR": str(tmp_path), "LLM_BASE_URL": "",
           "LOG_LEVEL": "WARNING", "REPROCESS_WEAK_CONFIDENCE": "0.55"}
    day = a_day(9).date().isoformat()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ari_app", "reprocess", "--from", day, "--to", day, "--only-weak", cwd=ROOT,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=100)
    text = out.decode()
    assert proc.returncode == 0, err.decode()[-3000:]
    assert f"2 recorded call(s) from {day} to {day} (UTC); 1 weak" in text
    assert f"{strong} " in text and "(skipped)" in text
    assert f"call {weak}: 2 caller line(s) re-transcribed" in text and f"call {strong}:" not in text
    assert "re-processed 1 of 1 call(s)" in text
    versions = TranscriptVersions(db_pool)
    assert await versions.versions(strong) == [] and len(await versions.versions(weak)) == 2
