"""Exports hold a database connection only while the database reads them (api/exports.py): a client
that stops reading keeps none and is cut off after the stall timeout; a third export at once is a
429 with Retry-After; one the database cannot read in time is a 503, its connection given back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from api.exports import ExportLimits
from tests.api.conftest import TOKEN, served

FAR = datetime(2099, 1, 1, tzinfo=UTC)  # these tests' calls, and only theirs, are this late
BIG_ROWS, CELL = 40, 1 << 20  # 40 MB of CSV: more than the sockets' buffers hold, so it is still being sent
EXPORT = "/api/v1/export/calls"


@pytest.fixture
async def big_calls(db_pool) -> AsyncIterator[list[uuid.UUID]]:
    ids = [uuid.uuid4() for _ in range(BIG_ROWS)]
    async with db_pool.connection() as conn:
        await conn.execute(
            """INSERT INTO call_attempts (id, direction, channel_id, created_at, hangup_cause_txt)
               SELECT id, 'outbound', 'big-' || id, %s + n * interval '1 second', repeat('x', %s)
                 FROM unnest(%s::uuid[]) WITH ORDINALITY AS t (id, n)""", (FAR, CELL, ids))
    yield ids
    async with db_pool.connection() as conn:  # the session's database is shared with the other tests
        await conn.execute("DELETE FROM call_attempts WHERE id = ANY (%s)", (ids,))


async def eventually(check: Callable[[], bool], timeout_s: float) -> None:
    async with asyncio.timeout(timeout_s):
        while not check():
            await asyncio.sleep(0.05)


async def test_a_reader_that_stops_holds_no_connection_and_is_cut_off(db_pool, api_pool, ari, recordings_dir,
                                                                       big_calls):
    limits = ExportLimits(concurrent=1, stall_timeout_s=1.0)
    async with served(db_pool, api_pool, ari, recordings_dir, limits) as (client, services), \
            aiohttp.ClientSession() as session:
        resp = await session.get(client.base + EXPORT, params={"since": FAR.isoformat()},
                                 headers={"Authorization": f"Bearer {TOKEN}"})
        try:
            assert resp.status == 200 and resp.content_length > BIG_ROWS * CELL
            # Headers in, nothing read: the export is still being sent (its slot taken)...
            assert services.exports.in_progress == 1
            # ...and every connection of the API's pool is free (2 here: a stalled export holds none).
            async with asyncio.timeout(1):
                free = [await api_pool.getconn() for _ in range(api_pool.max_size)]
            for conn in free:
                await api_pool.putconn(conn)
            # Nothing read for the stall timeout: the server cuts it off and frees the slot.
            await eventually(lambda: services.exports.in_progress == 0, timeout_s=10)
            with pytest.raises(aiohttp.ClientPayloadError):  # short of its Content-Length: the client knows
                await resp.read()
        finally:
            resp.release()
        status, body, _ = await client.get(EXPORT, params={"since": (FAR + timedelta(days=1)).isoformat()})
        assert status == 200 and body.decode("utf-8-sig").startswith("ID llamada;")  # the slot serves the next one


async def test_a_reader_that_reads_gets_the_whole_export(db_pool, api_pool, ari, recordings_dir, big_calls):
    async with served(db_pool, api_pool, ari, recordings_dir) as (client, _):
        status, body, resp = await client.get(EXPORT, params={"since": FAR.isoformat()})
    assert status == 200 and len(body) == resp.content_length
    header, *lines = body.decode("utf-8-sig").splitlines()  # not csv.reader: its cells stop at 128 KB
    assert header.startswith("ID llamada;") and [uuid.UUID(line.split(";")[0]) for line in lines] == big_calls
    assert all(";x" + "x" * (CELL - 1) + ";" in line for line in lines)


async def test_a_third_export_at_once_is_told_to_retry(db_pool, api_pool, ari, recordings_dir):
    since = {"since": (FAR + timedelta(days=1)).isoformat()}  # no calls: the header alone
    async with served(db_pool, api_pool, ari, recordings_dir, ExportLimits(concurrent=2)) as (client, services):
        held = [await api_pool.getconn() for _ in range(api_pool.max_size)]  # the two wait for a connection
        try:
            first = [asyncio.create_task(client.get(EXPORT, params=since)) for _ in range(2)]
            await eventually(lambda: services.exports.in_progress == 2, timeout_s=5)
            status, body, resp = await client.get(EXPORT, params={**since, "format": "json"})
            assert status == 429 and body["error"]["status"] == 429
            assert int(resp.headers["Retry-After"]) > 0
        finally:
            for conn in held:
                await api_pool.putconn(conn)
        async with asyncio.timeout(10):
            done = await asyncio.gather(*first)
        assert [(s, b.decode("utf-8-sig").splitlines()[0].split(";")[0]) for s, b, _ in done] == [(200, "ID llamada")] * 2
        # A slot is the export's until its handler returns, which can be just after the client has read
        # the last byte (CI asked in between once and was told to retry).
        await eventually(lambda: services.exports.in_progress == 0, timeout_s=5)
        status, body, _ = await client.get(EXPORT, params={**since, "format": "json"})
        assert status == 200 and body == {"items": []}


async def test_an_export_the_database_cannot_read_in_time_is_a_503(db_pool, api_pool, ari, recordings_dir):
    limits = ExportLimits(read_timeout_s=0.5)
    async with served(db_pool, api_pool, ari, recordings_dir, limits) as (client, services):
        async with db_pool.connection() as locker, locker.transaction():  # the export's query waits on the server
            await locker.execute("LOCK TABLE call_attempts IN ACCESS EXCLUSIVE MODE")
            status, body, _ = await client.get(EXPORT)
        assert status == 503 and "narrow it" in body["error"]["message"]
        assert services.exports.in_progress == 0
        async with asyncio.timeout(2):  # the query was cancelled and its connection given back, usable
            free = [await api_pool.getconn() for _ in range(api_pool.max_size)]
        try:
            for conn in free:
                await conn.execute("SELECT 1")
                await conn.rollback()
        finally:
            for conn in free:
                await api_pool.putconn(conn)
