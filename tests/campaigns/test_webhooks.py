"""Webhooks end to end on a real PostgreSQL and a real HTTP receiver on 127.0.0.1: events written with
the facts they report, signed, retried with backoff while the receiver is down, once per idempotency
key, in order per call, filtered per endpoint."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta

import psycopg
import pytest

from campaigns.actions import ActionRefused, CallActions, CallContext
from campaigns.calls import CallLog, CallOutcome, Direction
from campaigns.webhooks import (
    RetryPolicy,
    SignatureError,
    WebhookConfigError,
    WebhookDelivery,
    WebhookNotFound,
    WebhookStore,
    emit,
    verify,
)
from tests.campaigns.test_actions import _answered_call
from tests.campaigns.test_contacts import Desk
from tests.campaigns.webhook_receiver import ALLOW_LOOPBACK, Receiver

FAST = RetryPolicy(base_s=0.02, cap_s=0.1, max_attempts=50)


pytestmark = pytest.mark.usefixtures("no_webhook_endpoints")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()  # not listening until a test starts it
    yield r
    await r.stop()


def worker(pool, **kwargs) -> WebhookDelivery:
    kwargs.setdefault("retry", FAST)
    kwargs.setdefault("timeout_s", 2.0)
    kwargs.setdefault("egress", ALLOW_LOOPBACK)
    return WebhookDelivery(pool, rng=random.Random(6), **kwargs)


async def register(store: WebhookStore, receiver: Receiver, path: str, **kwargs) -> int:
    registered = await store.register(receiver.url(path), **kwargs)
    receiver.secrets[path] = registered.secret
    return registered.endpoint.id


async def drain(rounds: Callable[[], Awaitable[object]], done: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "deliveries did not finish"
        await rounds()
        await asyncio.sleep(0.02)


async def test_an_event_is_signed_and_the_receiver_can_check_it(db_pool, receiver):
    await receiver.start()
    store = WebhookStore(db_pool)
    registered = await store.register(receiver.url("/crm"), description="CRM")
    receiver.secrets["/crm"] = secret = registered.secret
    assert secret.startswith("whsec_") and secret not in repr(registered)
    assert [e.url for e in await store.endpoints()] == [receiver.url("/crm")]
    assert not hasattr((await store.endpoints())[0], "secret")  # shown once, at registration

    attempt = uuid.uuid4()
    await CallLog(db_pool).open_attempt(attempt_id=attempt, direction=Direction.OUTBOUND, channel_id=f"w-{attempt}",
                                        remote_number="+56912345678")
    async with worker(db_pool) as delivery:
        assert await delivery.run_once() == 1
    (hit,) = receiver.hits
    assert (hit.signature_error, hit.answered, hit.event, hit.attempt) == (None, 200, "call_started", 1)
    assert hit.event_id == hit.body["id"] and hit.body["type"] == "call_started"
    assert hit.body["call_key"] == str(attempt)
    assert hit.body["data"]["call"]["phone"] == "+569*****678" and b"12345678" not in hit.raw
    assert hit.signature.startswith("t=") and ",v1=" in hit.signature

    ts = verify(secret, hit.signature, hit.raw, now=time.time())
    with pytest.raises(SignatureError, match="does not match"):
        verify("whsec_not-the-endpoints-secret", hit.signature, hit.raw, now=time.time())
    with pytest.raises(SignatureError, match="does not match"):
        verify(secret, hit.signature, hit.raw.replace(b"call_started", b"call_ended_x"), now=time.time())
    with pytest.raises(SignatureError, match="stale"):  # the same request replayed six minutes later
        verify(secret, hit.signature, hit.raw, now=ts + 360)

    (row,) = await store.deliveries(registered.endpoint.id)
    assert (row.status, row.attempts, row.last_status_code, row.last_error) == ("delivered", 1, 200, None)
    assert row.delivered_at is not None


async def test_a_wrong_secret_is_refused_by_the_receiver_and_the_failure_is_recorded(db_pool, receiver):
    await receiver.start()
    store = WebhookStore(db_pool)
    endpoint = await register(store, receiver, "/crm", secret="s" * 32)
    receiver.secrets["/crm"] = "the receiver knows another secret"
    async with db_pool.connection() as conn, conn.transaction():
        await emit(conn, "sentiment_alert", {"level": "angry"})
    async with worker(db_pool) as delivery:
        assert await delivery.run_once() == 1
    assert receiver.hits[0].signature_error == "signature does not match"
    (row,) = await store.deliveries(endpoint)
    assert (row.status, row.attempts, row.last_status_code) == ("failed", 1, 401)
    assert "HTTP 401" in row.last_error


async def _desk_call(db_pool, company):
    """A campaign call answered, as the dialer opens it: (desk, job, context)."""
    desk = await Desk.open(db_pool, company)
    async with db_pool.connection() as conn:
        await conn.execute("UPDATE debtors SET amount_owed = 185000, max_date = %s WHERE id = %s",
                           (date.today() + timedelta(days=30), desk.debtor_id))
    await desk.wave()
    _, ctx = await _answered_call(desk)
    return desk, ctx


async def test_a_receiver_down_then_up_gets_every_event_once_and_each_call_in_order(db_pool, receiver, company):
    store = WebhookStore(db_pool)
    endpoint = await register(store, receiver, "/crm")  # the receiver is not listening yet
    log, actions = CallLog(db_pool), CallActions(db_pool)

    # Two calls whose events interleave: a campaign call with a promise, an inbound call transferred.
    desk, a = await _desk_call(db_pool, company)
    b = CallContext(uuid.uuid4(), desk.debtor_id)
    await log.open_attempt(attempt_id=b.attempt_id, direction=Direction.INBOUND, channel_id=f"in-{b.attempt_id}",
                           remote_number="+56987654321")
    await actions.register_promise(a, promised_date=date.today() + timedelta(days=10), amount=104050,
                                   today=date.today())
    await actions.note(b, "transfer", "transfer_requested", {"reason": "wants a person"})
    await actions.note(a, "payment_link", "payment_link_requested")
    await log.close_attempt(b.attempt_id, outcome=CallOutcome.ANSWERED, hangup_cause=16, hangup_cause_txt=None)
    await log.close_attempt(a.attempt_id, outcome=CallOutcome.ANSWERED, hangup_cause=16, hangup_cause_txt=None)
    expected = {
        str(a.attempt_id): ["call_started", "promise_registered", "payment_link_requested", "call_ended"],
        str(b.attempt_id): ["call_started", "transfer_requested", "call_ended"],
    }

    async with worker(db_pool) as one, worker(db_pool) as two:
        # Down: only the first event of each call is tried; the rest waits behind it.
        assert await one.run_once() == 2
        rows = await store.deliveries(endpoint)
        assert {r.event for r in rows if r.attempts} == {"call_started"}
        assert all(r.status == "failed" and r.last_status_code is None and "Connect" in r.last_error
                   for r in rows if r.attempts)
        await asyncio.sleep(0.15)
        await one.run_once()

        receiver.status = 503  # up, but answering errors
        await receiver.start()
        await drain(one.run_once, lambda: len({h.event_id for h in receiver.hits}) == 2)
        rows = await store.deliveries(endpoint)
        assert {r.last_status_code for r in rows if r.attempts} == {503}
        assert all(r.status == "failed" and r.attempts >= 3 for r in rows if r.attempts)

        receiver.status = 200  # two workers share the work from here: SKIP LOCKED, and still in order
        await drain(lambda: asyncio.gather(one.run_once(), two.run_once()),
                    lambda: len(receiver.accepted()) >= 7)
        assert await one.run_once() == 0

    accepted = receiver.accepted()
    assert len({h.event_id for h in accepted}) == len(accepted) == 7  # once per idempotency key
    for call_key, events in expected.items():
        assert [h.event for h in accepted if h.body["call_key"] == call_key] == events
    assert all(h.signature_error is None for h in receiver.hits)
    assert {r.status for r in await store.deliveries(endpoint)} == {"delivered"}
    promise = next(h.body["data"] for h in accepted if h.event == "promise_registered")
    assert (promise["amount"], promise["call"]["debtor_id"]) == ("104050", desk.debtor_id)
    ended = next(h.body["data"] for h in accepted if h.event == "call_ended" and h.body["call_key"] == str(a.attempt_id))
    assert (ended["outcome"], ended["result"]) == ("answered", "payment_link")
    assert ended["duration_s"] >= ended["talk_s"] >= 0


async def test_backoff_grows_to_its_cap_and_a_delivery_dies_after_its_attempts(db_pool, receiver):
    store = WebhookStore(db_pool)
    endpoint = await register(store, receiver, "/crm")
    async with db_pool.connection() as conn, conn.transaction():
        await emit(conn, "call_analyzed", {"summary": "promete pagar"})
    waits = []
    async with worker(db_pool, retry=RetryPolicy(base_s=1, cap_s=4, max_attempts=5)) as delivery:
        for _ in range(5):
            assert await delivery.run_once() == 1
            async with db_pool.connection() as conn:
                cur = await conn.execute(
                    """SELECT extract(epoch FROM next_attempt_at - last_attempt_at)::float8 FROM webhook_deliveries
                        WHERE endpoint_id = %s""", (endpoint,))
                waits.append((await cur.fetchone())[0])
                await conn.execute("UPDATE webhook_deliveries SET next_attempt_at = now() WHERE endpoint_id = %s",
                                   (endpoint,))  # as if the wait had passed
        (row,) = await store.deliveries(endpoint)
        assert (row.status, row.attempts) == ("dead", 5)
        assert await delivery.run_once() == 0  # dead: never tried again by itself
        # Equal jitter: attempt n waits between half and all of min(cap, base * 2^(n-1)).
        for wait, step in zip(waits[:4], (1, 2, 4, 4), strict=True):
            assert step / 2 <= wait <= step + 0.5
        assert waits[0] < waits[1] < waits[2]

        await receiver.start()  # fixed: the operator requeues the dead deliveries
        assert await store.requeue_dead(endpoint) == 1
        assert await delivery.run_once() == 1
    (row,) = await store.deliveries(endpoint)
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 1, 200)


async def test_filters_disabled_endpoints_and_endpoints_added_later(db_pool, receiver):
    await receiver.start()
    store = WebhookStore(db_pool)
    every = await register(store, receiver, "/all")
    promises = await register(store, receiver, "/promises", events=["promise_registered"])
    off = await register(store, receiver, "/off", enabled=False)
    paused = await register(store, receiver, "/paused")
    call = uuid.uuid4()
    async with db_pool.connection() as conn, conn.transaction():
        await emit(conn, "call_started", {"n": 1}, call_key=call)
        await emit(conn, "promise_registered", {"n": 2}, call_key=call)
    await store.set_enabled(paused, False)
    late = await register(store, receiver, "/late")

    async with worker(db_pool) as delivery:
        await drain(delivery.run_once, lambda: len(receiver.accepted()) >= 3)
        assert await delivery.run_once() == 0
        assert [h.event for h in receiver.accepted("/all")] == ["call_started", "promise_registered"]
        assert [h.event for h in receiver.accepted("/promises")] == ["promise_registered"]
        assert await store.deliveries(off) == [] and await store.deliveries(late) == []
        assert [r.status for r in await store.deliveries(paused)] == ["pending", "pending"]  # held, not lost

        await store.set_enabled(paused, True)
        await store.set_events(promises, [])  # from now on: everything
        async with db_pool.connection() as conn, conn.transaction():
            await emit(conn, "call_ended", {"n": 3}, call_key=call)
        await drain(delivery.run_once, lambda: len(receiver.accepted()) >= 9)
    assert [h.event for h in receiver.accepted("/paused")] == ["call_started", "promise_registered", "call_ended"]
    assert [h.event for h in receiver.accepted("/promises")] == ["promise_registered", "call_ended"]
    assert len(receiver.accepted("/all")) == len(receiver.accepted("/late")) + 2 == 3

    with pytest.raises(WebhookConfigError, match="http:// or https://"):
        await store.register("ftp://example.com/hook")
    with pytest.raises(WebhookConfigError, match="unknown webhook event.*call_startd"):
        await store.register("https://example.com/hook", events=["call_startd"])
    with pytest.raises(WebhookConfigError, match="unknown"):
        await store.set_events(every, ["payment_link"])
    with pytest.raises(WebhookConfigError, match="at least 16"):
        await store.register("https://example.com/hook", secret="short")
    await store.delete(off)
    with pytest.raises(WebhookNotFound):
        await store.set_enabled(off, True)


async def test_an_event_of_a_rolled_back_transaction_is_never_delivered(db_pool, receiver, company):
    await receiver.start()
    store = WebhookStore(db_pool)
    endpoint = await register(store, receiver, "/crm")
    async with db_pool.connection() as conn:
        async with conn.transaction():
            event_id = await emit(conn, "promise_registered", {"amount": "1000"})
            raise psycopg.Rollback()
        cur = await conn.execute("SELECT count(*) FROM webhook_outbox WHERE event_id = %s", (event_id,))
        assert await cur.fetchone() == (0,)
    # The same through the real actions: a refused promise, a second close of the same call.
    _, ctx = await _desk_call(db_pool, company)
    with pytest.raises(ActionRefused):
        await CallActions(db_pool).register_promise(ctx, promised_date=date.today() + timedelta(days=90),
                                                    amount=1000, today=date.today())
    log = CallLog(db_pool)
    assert await log.close_attempt(ctx.attempt_id, outcome=CallOutcome.ANSWERED, hangup_cause=16, hangup_cause_txt=None)
    assert not await log.close_attempt(ctx.attempt_id, outcome=CallOutcome.FAILED, hangup_cause=41,
                                       hangup_cause_txt=None)
    async with worker(db_pool) as delivery:
        await drain(delivery.run_once, lambda: len(receiver.accepted()) >= 2)
        assert await delivery.run_once() == 0
    assert [h.event for h in receiver.accepted()] == ["call_started", "call_ended"]
    assert [r.event for r in await store.deliveries(endpoint)] == ["call_started", "call_ended"]


async def test_a_slow_receiver_times_out_and_ping_reports_the_status(db_pool, receiver):
    await receiver.start()
    store = WebhookStore(db_pool)
    endpoint = await register(store, receiver, "/crm")
    async with worker(db_pool, timeout_s=0.3) as delivery:
        result = await delivery.test(endpoint)
        assert (result.ok, result.status_code) == (True, 200)
        (ping,) = receiver.hits
        assert (ping.event, ping.signature_error, ping.body["data"]) == ("ping", None, {"endpoint_id": endpoint})
        assert await store.deliveries(endpoint) == []  # a ping is not an event: no outbox, no delivery

        receiver.delay_s = 1.0
        async with db_pool.connection() as conn, conn.transaction():
            await emit(conn, "callback_scheduled", {"booked": "2030-01-01T08:00:00-03:00"})
        started = time.monotonic()
        assert await delivery.run_once() == 1
        assert time.monotonic() - started < 0.9
        (row,) = await store.deliveries(endpoint)
        assert (row.status, row.last_status_code, row.last_error) == ("failed", None, "timeout after 0.3 s")

        await receiver.stop()
        result = await delivery.test(endpoint)
        assert result.status_code is None and not result.ok and "Connect" in result.error
        with pytest.raises(WebhookNotFound):
            await delivery.test(endpoint + 1000)


async def test_the_loop_is_woken_by_a_committed_event(db_pool, database_url, receiver):
    await receiver.start()
    await register(WebhookStore(db_pool), receiver, "/crm")
    async with worker(db_pool, poll_s=60, listen_dsn=database_url) as delivery:
        loop = asyncio.create_task(delivery.run())
        try:
            await asyncio.sleep(0.3)  # the listener is up
            async with db_pool.connection() as conn, conn.transaction():
                await emit(conn, "call_started", {"n": 1})
            # Well before the 60 s poll: the NOTIFY sent at commit woke the loop.
            await drain(lambda: asyncio.sleep(0.05), lambda: len(receiver.accepted()) == 1, timeout_s=5)
        finally:
            loop.cancel()
            with pytest.raises(asyncio.CancelledError):
                await loop
    assert json.loads(receiver.accepted()[0].raw)["data"] == {"n": 1}


async def test_delivered_events_are_pruned_after_the_retention_and_failures_are_kept(db_pool, receiver):
    await receiver.start()
    store = WebhookStore(db_pool)
    ok = await register(store, receiver, "/ok")
    down = await register(store, receiver, "/down", events=["call_ended"])
    log = CallLog(db_pool)
    attempt = uuid.uuid4()
    await log.open_attempt(attempt_id=attempt, direction=Direction.INBOUND, channel_id=f"p-{attempt}")
    await log.close_attempt(attempt, outcome=CallOutcome.FAILED, hangup_cause=None, hangup_cause_txt=None)
    receiver.secrets["/down"] = "whsec_the-receiver-no-longer-knows-it"  # /down rejects every request
    async with worker(db_pool, retry=RetryPolicy(base_s=60, cap_s=60, max_attempts=5)) as delivery:
        while await delivery.run_once():  # each call's events go out one round at a time, in order
            pass
    assert {(d.event, d.status) for d in await store.deliveries(ok)} == {("call_started", "delivered"),
                                                                         ("call_ended", "delivered")}
    assert [d.status for d in await store.deliveries(down)] == ["failed"]
    assert await store.prune(timedelta(hours=1)) == 0  # too recent
    async with db_pool.connection() as conn:
        await conn.execute("UPDATE webhook_outbox SET created_at = now() - interval '40 days' WHERE call_key = %s",
                           (str(attempt),))
    assert await store.prune(timedelta(days=30)) == 1  # call_started: delivered everywhere
    assert [d.event for d in await store.deliveries(ok)] == ["call_ended"]  # kept: /down still owes it
    assert [d.status for d in await store.deliveries(down)] == ["failed"]
