"""The operator API served for real (aiohttp on a free port) over the session's scratch PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from psycopg_pool import AsyncConnectionPool

from api import ApiServices, OperatorApi
from api.export_formats import COLUMNS
from api.exports import ExportLimits
from campaigns.db import open_database
from campaigns.webhooks import EgressPolicy, WebhookDelivery
from media.recordings import LocalRecordingStore
from tests.campaigns.webhook_receiver import ALLOW_LOOPBACK

TOKEN = "test-operator-token-0123456789"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/api/" in str(item.fspath):
            item.add_marker(pytest.mark.db)


class Ari:
    """The one fact the API asks of ARI: is the events stream up (a test flips it)."""

    def __init__(self) -> None:
        self.up = True

    def connected(self) -> bool:
        return self.up


class Client:
    """An HTTP client for the running API: `token=None` sends no Authorization header."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self._session = session
        self.base = base

    async def request(self, method: str, path: str, *, token: str | None = TOKEN,
                      **kwargs: Any) -> tuple[int, Any, aiohttp.ClientResponse]:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with self._session.request(method, self.base + path, headers=headers, **kwargs) as resp:
            raw = await resp.read()
            body: Any = raw
            if resp.content_type == "application/json":
                body = await resp.json()
            return resp.status, body, resp

    async def get(self, path: str, **kwargs: Any) -> tuple[int, Any, aiohttp.ClientResponse]:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> tuple[int, Any, aiohttp.ClientResponse]:
        return await self.request("POST", path, **kwargs)


@pytest.fixture
def ari() -> Ari:
    return Ari()


@pytest.fixture
def recordings_dir(tmp_path: Path) -> Path:
    path = tmp_path / "recordings"
    path.mkdir()
    return path


@pytest.fixture
def webhook_egress() -> EgressPolicy:
    """The API's webhook worker reaches the tests' receiver on 127.0.0.1; a test that needs the
    default policy parametrizes this fixture with `EgressPolicy()`."""
    return ALLOW_LOOPBACK


@pytest.fixture
async def api(db_pool, ari: Ari, recordings_dir: Path, webhook_egress: EgressPolicy) -> AsyncIterator[Client]:
    async with WebhookDelivery(db_pool, timeout_s=2.0, egress=webhook_egress) as delivery:
        services = ApiServices(pool=db_pool, webhook_delivery=delivery, recordings=LocalRecordingStore(recordings_dir),
                               ari_connected=ari.connected, currency="CLP")
        async with OperatorApi(services, tokens=[TOKEN], host="127.0.0.1", port=0) as server, \
                aiohttp.ClientSession() as session:
            yield Client(session, server.url)


@pytest.fixture
async def api_pool(database_url: str) -> AsyncIterator[AsyncConnectionPool]:
    """The API's own pool beside `db_pool` (the call path's), as the app opens it: 2 connections, no migration."""
    async with open_database(database_url, max_size=2, migrate=False, name="callcenter-api") as pool:
        yield pool


@asynccontextmanager
async def served(call_pool: AsyncConnectionPool, api_pool: AsyncConnectionPool, ari: Ari, recordings_dir: Path,
                 limits: ExportLimits | None = None) -> AsyncIterator[tuple[Client, ApiServices]]:
    """The API as the app serves it (ari_app/app.py's `_start_api`): the webhook worker on the call
    path's pool, the handlers on `api_pool`."""
    async with WebhookDelivery(call_pool, timeout_s=2.0) as delivery:
        services = ApiServices(pool=api_pool, webhook_delivery=delivery, recordings=LocalRecordingStore(recordings_dir),
                               ari_connected=ari.connected, currency="CLP", export_limits=limits or ExportLimits())
        async with OperatorApi(services, tokens=[TOKEN], host="127.0.0.1", port=0) as server, \
                aiohttp.ClientSession() as session:
            yield Client(session, server.url), services


def export_rows(raw: bytes) -> list[dict[str, str]]:
    """The rows of a calls export in CSV (`;`, a BOM, Spanish headers), keyed by the export's field names."""
    assert raw.startswith("\ufeff".encode()), "a Spanish-locale Excel needs the BOM to read UTF-8"
    header, *rows = csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";")
    assert header == [c.header for c in COLUMNS]
    return [dict(zip((c.key for c in COLUMNS), row, strict=True)) for row in rows]
