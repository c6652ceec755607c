"""Webhook secrets sealed at rest, on a real PostgreSQL and a real receiver on 127.0.0.1 that checks
every signature: the table never holds a secret that could sign, deliveries are still signed with
the real one, rows from before the key are sealed at start-up, and a wrong key fails the delivery
with its reason instead of the worker."""

from __future__ import annotations

import random

import pytest
from cryptography.fernet import Fernet

from campaigns.webhooks import RetryPolicy, SecretBox, WebhookConfigError, WebhookDelivery, WebhookStore, emit
from campaigns.webhooks.secret_box import PREFIX
from tests.campaigns.webhook_receiver import ALLOW_LOOPBACK, Receiver

pytestmark = pytest.mark.usefixtures("no_webhook_endpoints")


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(Fernet.generate_key())


def worker(pool, box: SecretBox) -> WebhookDelivery:
    return WebhookDelivery(pool, box=box, egress=ALLOW_LOOPBACK, timeout_s=2.0, rng=random.Random(6),
                           retry=RetryPolicy(base_s=0.02, cap_s=0.1, max_attempts=50))


async def register(store: WebhookStore, receiver: Receiver, path: str) -> int:
    registered = await store.register(receiver.url(path))
    receiver.secrets[path] = registered.secret  # what the operator was shown, once
    return registered.endpoint.id


async def stored_secret(db_pool, endpoint: int) -> str:
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT secret FROM webhook_endpoints WHERE id = %s", (endpoint,))
        row = await cur.fetchone()
    assert row is not None
    return row[0]


async def emit_one(db_pool) -> None:
    async with db_pool.connection() as conn, conn.transaction():
        await emit(conn, "call_started", {"n": 1})


async def test_the_table_holds_no_secret_and_deliveries_are_signed_with_the_real_one(db_pool, receiver, box):
    store = WebhookStore(db_pool, box=box)
    endpoint = await register(store, receiver, "/crm")
    stored = await stored_secret(db_pool, endpoint)
    assert stored.startswith(PREFIX) and receiver.secrets["/crm"] not in stored

    await emit_one(db_pool)
    async with worker(db_pool, box) as delivery:
        assert await delivery.run_once() == 1
        assert (await delivery.test(endpoint)).ok  # the ping is signed with it too
    assert [(h.event, h.signature_error, h.answered) for h in receiver.hits] == [
        ("call_started", None, 200), ("ping", None, 200)]
    (row,) = await store.deliveries(endpoint)
    assert row.status == "delivered"


async def test_plain_secrets_from_before_the_key_are_sealed_once_and_still_deliver(db_pool, receiver, box):
    endpoint = await register(WebhookStore(db_pool), receiver, "/crm")  # before the upgrade: no key
    assert await stored_secret(db_pool, endpoint) == receiver.secrets["/crm"]
    assert await WebhookStore(db_pool).seal_plain_secrets() == 0  # no key: nothing to seal with

    store = WebhookStore(db_pool, box=box)
    assert await store.seal_plain_secrets() == 1  # the app's start-up, after the key was set
    stored = await stored_secret(db_pool, endpoint)
    assert stored.startswith(PREFIX) and receiver.secrets["/crm"] not in stored
    assert await store.seal_plain_secrets() == 0  # the next start: sealed already, left alone
    assert await stored_secret(db_pool, endpoint) == stored

    await emit_one(db_pool)
    async with worker(db_pool, box) as delivery:
        assert await delivery.run_once() == 1
    (hit,) = receiver.hits
    assert (hit.signature_error, hit.answered) == (None, 200)


async def test_a_plain_row_still_delivers_before_it_is_sealed(db_pool, receiver, box):
    # Between the upgrade and the sealing (or a process started without the sealing), nothing stops.
    await register(WebhookStore(db_pool), receiver, "/crm")
    await emit_one(db_pool)
    async with worker(db_pool, box) as delivery:
        assert await delivery.run_once() == 1
    assert [(h.signature_error, h.answered) for h in receiver.hits] == [(None, 200)]


async def test_a_wrong_key_kills_that_delivery_with_the_reason_and_the_others_go_on(db_pool, receiver, box):
    store = WebhookStore(db_pool, box=box)
    sealed = await register(store, receiver, "/sealed")
    plain = await register(WebhookStore(db_pool), receiver, "/plain")
    await emit_one(db_pool)

    async with worker(db_pool, SecretBox(Fernet.generate_key())) as delivery:
        assert await delivery.run_once() == 2  # the round ends: the worker is not brought down
        ping = await delivery.test(sealed)
    assert (ping.ok, ping.status_code) == (False, None)
    assert "sealed with another WEBHOOK_SECRETS_KEY" in ping.error
    async with worker(db_pool, SecretBox(None)) as delivery:  # a process started without the key
        ping = await delivery.test(sealed)
    assert not ping.ok and "sealed but WEBHOOK_SECRETS_KEY is not set" in ping.error
    assert [h.path for h in receiver.hits] == ["/plain"]  # nothing mis-signed was sent
    (dead,) = await store.deliveries(sealed)
    assert (dead.status, dead.attempts, dead.last_status_code) == ("dead", 1, None)
    assert "sealed with another WEBHOOK_SECRETS_KEY" in dead.last_error
    assert [r.status for r in await store.deliveries(plain)] == ["delivered"]

    # The right key back, the dead delivery requeued: it arrives, signed with the real secret.
    assert await store.requeue_dead(sealed) == 1
    async with worker(db_pool, box) as delivery:
        assert await delivery.run_once() == 1
    assert [(h.path, h.signature_error, h.answered) for h in receiver.hits][-1] == ("/sealed", None, 200)


async def test_a_chosen_secret_that_looks_sealed_is_refused(db_pool, box):
    # Stored plain (in the lab, without a key) it would read as sealed and never open.
    for store in (WebhookStore(db_pool), WebhookStore(db_pool, box=box)):
        with pytest.raises(WebhookConfigError, match="cannot start with 'fernet:v1:'"):
            await store.register("https://example.com/hook", secret=PREFIX + "x" * 32)
    assert await store.endpoints() == []
