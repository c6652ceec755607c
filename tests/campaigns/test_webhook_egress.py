"""Webhooks refused where they must not go (ARI on 127.0.0.1, cloud metadata, the LAN), on a real
PostgreSQL and a real receiver on 127.0.0.1: no request reaches it, and no connection is even tried,
unless the operator allows the network."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from campaigns.webhooks import EgressPolicy, RetryPolicy, WebhookDelivery, WebhookStore, emit
from tests.campaigns.webhook_receiver import ALLOW_LOOPBACK

pytestmark = pytest.mark.usefixtures("no_webhook_endpoints")

STRICT = EgressPolicy()  # the default: public addresses only
LOOPBACK_REFUSED = "refused: 127.0.0.1 is a loopback address; allow it with WEBHOOK_ALLOWED_NETWORKS"


@pytest.fixture
async def connects(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[Any]]:
    """Every address a socket of this event loop connects to (aiohttp connects with `sock_connect`)."""
    loop = asyncio.get_running_loop()
    seen: list[Any] = []
    real = loop.sock_connect

    async def spy(sock: Any, address: Any) -> None:
        seen.append(address)
        await real(sock, address)

    monkeypatch.setattr(loop, "sock_connect", spy)
    yield seen


def worker(pool, egress: EgressPolicy) -> WebhookDelivery:
    return WebhookDelivery(pool, egress=egress, timeout_s=2.0, rng=random.Random(6),
                           retry=RetryPolicy(base_s=0.02, cap_s=0.1, max_attempts=50))


async def test_loopback_is_refused_by_default_and_delivered_once_allowed(db_pool, receiver, connects):
    store = WebhookStore(db_pool)
    registered = await store.register(receiver.url("/crm"))  # any http(s) URL registers: checked per request
    receiver.secrets["/crm"] = registered.secret
    endpoint = registered.endpoint.id
    async with db_pool.connection() as conn, conn.transaction():
        await emit(conn, "call_started", {"n": 1})

    async with worker(db_pool, STRICT) as delivery:
        assert await delivery.run_once() == 1
        assert await delivery.run_once() == 0  # dead at once: retrying cannot change the address
        ping = await delivery.test(endpoint)
    assert receiver.hits == [] and connects == []
    (row,) = await store.deliveries(endpoint)
    assert (row.status, row.attempts, row.last_status_code, row.last_error) == ("dead", 1, None, LOOPBACK_REFUSED)
    assert (ping.ok, ping.status_code, ping.error, ping.permanent) == (False, None, LOOPBACK_REFUSED, True)

    # The operator allows the receiver's network and requeues: delivered, to the same receiver.
    assert await store.requeue_dead(endpoint) == 1
    async with worker(db_pool, ALLOW_LOOPBACK) as delivery:
        assert await delivery.run_once() == 1
    (row,) = await store.deliveries(endpoint)
    assert (row.status, row.last_status_code, row.last_error) == ("delivered", 200, None)
    assert [h.event for h in receiver.accepted()] == ["call_started"]
    assert connects and all(address[0] == "127.0.0.1" for address in connects)


@pytest.mark.parametrize(("url", "reason"), [
    ("http://169.254.169.254/latest/meta-data/iam/security-credentials/",
     "169.254.169.254 is a link-local address (cloud metadata lives there)"),
    ("http://10.0.0.1:8088/ari/channels", "10.0.0.1 is a private address"),
    ("http://192.168.1.20/hook", "192.168.1.20 is a private address"),
    ("http://[fd00::1]/hook", "fd00::1 is a private address"),
    ("http://[::1]:8088/ari/asterisk/info", "::1 is a loopback address"),
    ("http://[::ffff:10.0.0.5]:8088/ari", "10.0.0.5 is a private address"),  # IPv4 written as IPv6
    ("http://0.0.0.0:8088/ari", "0.0.0.0 is an unspecified address"),
    ("http://100.64.0.1/hook", "100.64.0.1 is not a public address"),
])
async def test_internal_addresses_are_refused_without_a_connection_attempt(db_pool, connects, url, reason):
    endpoint = (await WebhookStore(db_pool).register(url)).endpoint.id
    # Allowing 127.0.0.0/8 allows that and nothing more (not even ::1).
    async with worker(db_pool, ALLOW_LOOPBACK) as delivery:
        result = await delivery.test(endpoint)
    assert result.error == f"refused: {reason}; allow it with WEBHOOK_ALLOWED_NETWORKS"
    assert (result.status_code, result.permanent) == (None, True)
    assert connects == []  # not one socket connected: nothing to time out, nothing to read back


async def test_a_name_that_resolves_to_loopback_is_refused_by_the_resolver(db_pool, receiver, connects):
    store = WebhookStore(db_pool)
    registered = await store.register(f"http://localhost:{receiver.port}/crm")
    receiver.secrets["/crm"] = registered.secret
    async with db_pool.connection() as conn, conn.transaction():
        await emit(conn, "promise_registered", {"amount": "1000"})
    async with worker(db_pool, STRICT) as delivery:
        assert await delivery.run_once() == 1
    (row,) = await store.deliveries(registered.endpoint.id)
    assert row.status == "dead"
    assert re.fullmatch(r"refused: localhost resolves to (127\.0\.0\.1|::1), which is a loopback address; "
                        r"allow it with WEBHOOK_ALLOWED_NETWORKS", row.last_error), row.last_error
    assert receiver.hits == [] and connects == []


async def test_a_receivers_error_reply_is_kept_short_and_on_one_line(db_pool, receiver):
    store = WebhookStore(db_pool)
    registered = await store.register(receiver.url("/crm"))
    receiver.secrets["/crm"] = registered.secret
    receiver.status = 500
    receiver.error_text = "line one\r\nX-Forged: yes\n" + "internal page " * 200
    async with worker(db_pool, ALLOW_LOOPBACK) as delivery:
        result = await delivery.test(registered.endpoint.id)
    assert result.status_code == 500 and not result.permanent
    assert result.error.startswith("HTTP 500 Internal Server Error: line one  X-Forged: yes internal page")
    assert "\n" not in result.error and "\r" not in result.error
    assert len(result.error) <= len("HTTP 500 Internal Server Error: ") + 100
