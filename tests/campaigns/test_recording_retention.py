"""Recording retention on a real PostgreSQL and real WAV files: recordings older than the retention
are deleted, the calls keep everything else, and nothing outside the store is ever touched."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

from psycopg_pool import AsyncConnectionPool

from campaigns.calls import CallLine, CallLog, CallOutcome, Direction
from campaigns.recordings import RecordingLedger, RecordingRetention
from media.recordings import LocalRecordingStore, recording_key

RETENTION = timedelta(days=30)


async def recorded_call(pool: AsyncConnectionPool, store: LocalRecordingStore, *, age: timedelta,
                        ended: bool = True, write_file: bool = True, key: str | None = None) -> uuid.UUID:
    """A call made `age` ago with its recording (a real WAV under `store`) and one transcript line."""
    log = CallLog(pool)
    attempt = uuid.uuid4()
    await log.open_attempt(attempt_id=attempt, direction=Direction.OUTBOUND, channel_id=f"r-{attempt}",
                           remote_number="+56955550077", endpoint="PJSIP/x@trunk")
    await log.mark_answered(attempt)
    made_at = datetime.now().astimezone() - age
    key = key or recording_key(attempt, made_at.date())
    if write_file:
        recording = store.open(key, channels=2, sample_rate=8000)
        recording.append(b"\x00\x01" * 2 * 800)
        recording.close()
    await log.add_lines(attempt, [CallLine("caller", "le pago el quince", 2100, 3900, "stt")])
    await log.record_results(attempt, recording_path=key, recording_ms=100, usage={}, cost=None, cost_detail={})
    if ended:
        await log.close_attempt(attempt, outcome=CallOutcome.ANSWERED, hangup_cause=16,
                                hangup_cause_txt="Normal Clearing")
    async with pool.connection() as conn:
        await conn.execute("UPDATE call_attempts SET created_at = %s WHERE id = %s", (made_at, attempt))
    return attempt


async def recording_state(pool: AsyncConnectionPool, attempt: uuid.UUID) -> tuple[str | None, bool, int]:
    """(recording_path, whether it is marked deleted, transcript lines kept)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            """SELECT recording_path, recording_deleted_at IS NOT NULL,
                      (SELECT count(*) FROM call_lines l WHERE l.attempt_id = a.id)
                 FROM call_attempts a WHERE id = %s""", (attempt,))
        return await cur.fetchone()


async def test_recordings_past_the_retention_are_deleted_and_the_calls_keep_the_rest(db_pool, tmp_path: Path):
    store = LocalRecordingStore(tmp_path)
    old = await recorded_call(db_pool, store, age=timedelta(days=40))
    older_gone_already = await recorded_call(db_pool, store, age=timedelta(days=45), write_file=False)
    young = await recorded_call(db_pool, store, age=timedelta(days=10))
    in_progress = await recorded_call(db_pool, store, age=timedelta(days=41), ended=False)
    old_key, young_key, live_key = [(await recording_state(db_pool, a))[0] for a in (old, young, in_progress)]
    assert store.path(old_key).is_file() and store.path(young_key).is_file()

    # Batches of one: the sweep goes on until nothing past the retention is left.
    retention = RecordingRetention(RecordingLedger(db_pool), store, RETENTION, batch=1)
    assert await retention.run_once() >= 2

    assert not store.path(old_key).exists()
    assert not store.path(old_key).parent.exists()  # the empty day folder went with it
    assert await recording_state(db_pool, old) == (None, True, 1)  # the transcript stays
    assert await recording_state(db_pool, older_gone_already) == (None, True, 1)
    assert store.path(young_key).is_file()
    assert await recording_state(db_pool, young) == (young_key, False, 1)
    # A call still in progress keeps its recording, whatever its age: it is being written.
    assert await recording_state(db_pool, in_progress) == (live_key, False, 1)
    assert store.path(live_key).is_file()
    assert await retention.run_once() == 0


async def test_a_key_outside_the_store_is_never_deleted_and_its_row_waits(db_pool, tmp_path: Path):
    store = LocalRecordingStore(tmp_path / "recordings")
    outside = tmp_path / "not-a-recording.wav"
    outside.write_bytes(b"keep me")
    bad = await recorded_call(db_pool, store, age=timedelta(days=60), write_file=False, key="../not-a-recording.wav")
    try:
        retention = RecordingRetention(RecordingLedger(db_pool), store, RETENTION)
        await retention.run_once()
        assert outside.read_bytes() == b"keep me"
        assert await recording_state(db_pool, bad) == ("../not-a-recording.wav", False, 1)
    finally:  # the shared database must not keep a row every later sweep would stop at
        async with db_pool.connection() as conn:
            await conn.execute("UPDATE call_attempts SET recording_path = NULL WHERE id = %s", (bad,))
