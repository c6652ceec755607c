"""Shared fixtures. Tests marked `db` need a real PostgreSQL; tests marked `lab` need the real
Asterisk lab too (`make lab`). Neither is ever faked: when the service is missing, the test
fails with the command that starts it, it is not silently skipped."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from ari_app.settings import Settings
from campaigns.db import open_database
from tests.campaigns.webhook_receiver import Receiver
from tests.s3_server import S3Server
from tests.scratch_db import scratch_database


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh, empty database for this test session, dropped at the end."""
    try:
        with scratch_database(Settings().database_url.get_secret_value(), "callcenter_test") as url:
            yield url
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at DATABASE_URL ({exc}); run `make lab` first", pytrace=False)


@pytest.fixture
async def db_pool(database_url: str) -> AsyncIterator[AsyncConnectionPool]:
    async with open_database(database_url, max_size=4) as pool:
        yield pool


@pytest.fixture
async def no_webhook_endpoints(db_pool: AsyncConnectionPool) -> AsyncIterator[None]:
    """The session's database is shared: one test's webhook endpoints must not collect another's events."""
    async with db_pool.connection() as conn:
        await conn.execute("DELETE FROM webhook_endpoints")
    yield
    async with db_pool.connection() as conn:
        await conn.execute("DELETE FROM webhook_endpoints")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver listening on 127.0.0.1, checking every request's signature."""
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


@pytest.fixture
def s3_server() -> Iterator[S3Server]:
    """An S3-protocol server (moto, its own process on 127.0.0.1) with an empty bucket."""
    server = S3Server()
    server.start()
    yield server
    server.stop()
