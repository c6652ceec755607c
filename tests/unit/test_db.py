"""Migrations and the call log, on a real PostgreSQL (a fresh database per test session)."""

import asyncio
import uuid

import psycopg
import pytest

from campaigns.calls import CallLog, CallOutcome, Direction
from campaigns.db import Migration, MigrationError, apply_migrations, bundled_migrations

pytestmark = pytest.mark.db


async def _connect(url: str) -> psycopg.AsyncConnection:
    return await psycopg.AsyncConnection.connect(url)


async def test_migrations_are_idempotent_and_recorded(database_url, db_pool):
    async with await _connect(database_url) as conn:
        assert await apply_migrations(conn) == []  # db_pool already migrated
        cur = await conn.execute("SELECT version FROM schema_migrations ORDER BY version")
        assert [r[0] for r in await cur.fetchall()] == [m.version for m in bundled_migrations()]
        cur = await conn.execute("SELECT to_regclass('call_attempts'), to_regclass('call_jobs')")
        assert all(await cur.fetchone())


async def test_concurrent_starters_apply_each_migration_once(database_url, db_pool):
    extra = [Migration("9001", "probe", "CREATE TABLE probe_9001 (id int)")]
    conns = [await _connect(database_url) for _ in range(4)]
    try:
        results = await asyncio.gather(*(apply_migrations(c, extra) for c in conns))
    finally:
        for c in conns:
            await c.close()
    assert sorted(results) == [[], [], [], ["9001"]]


async def test_an_edited_migration_is_refused(database_url, db_pool):
    edited = [Migration(m.version, m.name, m.sql + "\n-- edited") for m in bundled_migrations()]
    async with await _connect(database_url) as conn:
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await apply_migrations(conn, edited)


async def test_call_log_keeps_events_in_order_and_closes_once(db_pool):
    log = CallLog(db_pool)
    attempt = uuid.uuid4()
    await log.open_attempt(attempt_id=attempt, direction=Direction.OUTBOUND, channel_id=f"out-{attempt}",
                           remote_number="+56912345678", endpoint="PJSIP/+56912345678@trunk")
    for i in range(5):
        await log.add_event(attempt, "tick", {"i": i})
    await log.mark_answered(attempt)
    assert await log.close_attempt(attempt, outcome=CallOutcome.ANSWERED, hangup_cause=16,
                                   hangup_cause_txt="Normal Clearing", metrics={"first_rtp_out_ms": 12.5})
    # A second close (e.g. a late ChannelDestroyed after a reconnect) must not overwrite the first.
    assert not await log.close_attempt(attempt, outcome=CallOutcome.FAILED, hangup_cause=41, hangup_cause_txt="x")
    record = await log.get(attempt)
    assert record is not None
    assert (record.outcome, record.hangup_cause, record.state) == (CallOutcome.ANSWERED, 16, "ended")
    assert record.answered_at is not None and record.ended_at >= record.answered_at
    assert record.metrics == {"first_rtp_out_ms": 12.5}
    events = await log.events(attempt)
    assert [e.kind for e in events] == ["attempt_opened"] + ["tick"] * 5 + ["attempt_closed"]
    assert [e.data["i"] for e in events if e.kind == "tick"] == list(range(5))
    assert attempt not in {r.id for r in await log.open_attempts()}


async def test_bad_phone_numbers_are_rejected_by_the_schema(db_pool):
    async with db_pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO debtors (national_id, full_name) VALUES (%s, %s) RETURNING id", ("11111111-1", "Ana")
        )
        (debtor_id,) = await cur.fetchone()
        with pytest.raises(psycopg.errors.CheckViolation):
            await conn.execute("INSERT INTO phones (debtor_id, e164) VALUES (%s, %s)", (debtor_id, "912345678"))
