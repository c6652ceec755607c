"""The operator API has a pool of its own: with every one of its connections taken, a live call still
writes at once, and API requests wait for their own connections (then a 503, never a 500)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

import campaigns.db
from ari_app.app import api_database
from ari_app.settings import Settings
from campaigns.calls import CallLog, Direction
from tests.api.conftest import served


async def test_a_live_call_writes_while_the_api_pool_is_exhausted(db_pool, api_pool, ari, recordings_dir):
    async with served(db_pool, api_pool, ari, recordings_dir) as (client, _):
        held = [await api_pool.getconn() for _ in range(api_pool.max_size)]  # a burst, or stalled exports
        try:
            requests = [asyncio.create_task(client.get("/api/v1/calls")) for _ in range(4)]
            await asyncio.sleep(0.5)
            assert not any(r.done() for r in requests)  # the API waits for its own connections...

            log, attempt = CallLog(db_pool), uuid.uuid4()  # ...and a call's writes do not wait behind them
            started = time.monotonic()
            async with asyncio.timeout(5):
                await log.open_attempt(attempt_id=attempt, direction=Direction.OUTBOUND, channel_id=f"c-{attempt}",
                                       remote_number="+56955550042", endpoint="PJSIP/x@trunk")
                await log.add_event(attempt, "turn", {"index": 0})
            assert time.monotonic() - started < 1.0
            assert [e.kind for e in await log.events(attempt)] == ["attempt_opened", "turn"]
        finally:
            for conn in held:
                await api_pool.putconn(conn)
        async with asyncio.timeout(10):
            assert [status for status, _, _ in await asyncio.gather(*requests)] == [200] * 4


async def test_a_request_that_waits_too_long_for_a_connection_is_a_503(db_pool, api_pool, ari, recordings_dir,
                                                                      monkeypatch):
    monkeypatch.setattr(api_pool, "timeout", 0.3)  # the pool's wait (30 s in the app)
    async with served(db_pool, api_pool, ari, recordings_dir) as (client, _):
        held = [await api_pool.getconn() for _ in range(api_pool.max_size)]
        try:
            status, body, resp = await client.get("/api/v1/calls")
        finally:
            for conn in held:
                await api_pool.putconn(conn)
    assert status == 503 and body["error"]["status"] == 503 and resp.headers["Retry-After"]


async def test_the_app_opens_the_api_pool_with_its_own_size_and_no_second_migration(database_url, monkeypatch):
    async def no_migration(*args: object, **kwargs: object) -> None:
        raise AssertionError("the call path's pool migrated already")

    monkeypatch.setattr(campaigns.db, "apply_migrations", no_migration)
    settings = Settings(DATABASE_URL=database_url, API_DATABASE_POOL_MAX=3)
    async with api_database(settings) as pool:
        assert (pool.name, pool.max_size) == ("callcenter-api", 3)
        async with pool.connection() as conn:
            await conn.execute("SELECT 1")


@pytest.mark.parametrize("env, message", [({"API_EXPORTS_MAX": "4"}, "API_EXPORTS_MAX"),
                                          ({"API_DATABASE_POOL_MAX": "1"}, "API_DATABASE_POOL_MAX")])
def test_exports_can_never_take_every_api_connection(env, message, monkeypatch):
    for key in ("API_DATABASE_POOL_MAX", "API_EXPORTS_MAX"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir("/")  # no .env file from the developer's checkout
    assert (Settings().api_database_pool_max, Settings().api_exports_max) == (4, 2)  # the defaults
    with pytest.raises(ValueError, match=message):
        Settings(**env)
