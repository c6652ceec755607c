"""Shared fixtures. Tests marked `db` need a real PostgreSQL; tests marked `lab` need the real
Asterisk lab too (`make lab`). Neither is ever faked: when the service is missing, the test
fails with the command that starts it, it is not silently skipped."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from ari_app.settings import Settings
from campaigns.db import open_database


def _lab_database_url() -> str:
    return Settings().database_url.get_secret_value()


def _with_database(url: str, dbname: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{dbname}"))


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh, empty database for this test session, dropped at the end."""
    base = _lab_database_url()
    try:
        admin = psycopg.connect(base, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at DATABASE_URL ({exc}); run `make lab` first", pytrace=False)
    name = f"callcenter_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield _with_database(base, name)
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
async def db_pool(database_url: str) -> AsyncIterator[AsyncConnectionPool]:
    async with open_database(database_url, max_size=4) as pool:
        yield pool
