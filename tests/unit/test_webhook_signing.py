"""Webhook pieces that need no database: signatures, the retry schedule, validation, the JSON body."""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from campaigns.webhooks import (
    EVENTS,
    RetryPolicy,
    SignatureError,
    WebhookConfigError,
    emit,
    new_secret,
    sign,
    validate_events,
    validate_url,
    verify,
    verify_request,
)
from campaigns.webhooks.delivery import envelope
from campaigns.webhooks.events import dumps

SECRET = "whsec_unit-test-secret-0123456789"
BODY = b'{"id":"e1","type":"call_started","data":{}}'


def test_a_signature_is_the_documented_hmac_and_verifies():
    header = sign(SECRET, 1_700_000_000, BODY)
    assert re.fullmatch(r"t=1700000000,v1=[0-9a-f]{64}", header)
    assert verify(SECRET, header, BODY, now=1_700_000_100) == 1_700_000_000
    assert verify(SECRET, header, BODY.decode(), now=1_700_000_000) == 1_700_000_000  # str or bytes alike
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header.endswith(expected)


@pytest.mark.parametrize(("secret", "header", "body", "now", "why"), [
    ("whsec_another-secret-abcdefghij", None, BODY, 1_700_000_000, "does not match"),
    (SECRET, None, BODY + b" ", 1_700_000_000, "does not match"),
    (SECRET, None, BODY, 1_700_000_301, "stale"),  # replayed after the tolerance
    (SECRET, None, BODY, 1_699_999_000, "stale"),  # from the future
    (SECRET, "", BODY, 1_700_000_000, "missing"),
    (SECRET, "v1=abc", BODY, 1_700_000_000, "malformed"),
    (SECRET, "t=1700000000", BODY, 1_700_000_000, "malformed"),
    (SECRET, "t=1700000001,v1=" + "0" * 64, BODY, 1_700_000_000, "does not match"),
])
def test_verify_refuses_what_we_did_not_send_or_sent_long_ago(secret, header, body, now, why):
    header = sign(SECRET, 1_700_000_000, BODY) if header is None else header
    with pytest.raises(SignatureError, match=why):
        verify(secret, header, body, now=now)


def test_the_event_id_to_deduplicate_by_is_the_signed_one():
    event_id = str(uuid.uuid4())
    body = envelope(uuid.UUID(event_id), "call_started", None, {}, datetime(2026, 12, 3, tzinfo=UTC))
    headers = {"x-signature": sign(SECRET, 1_000, body), "X-Event-Id": event_id}
    assert verify_request(SECRET, headers, body, now=1_000) == event_id
    assert verify_request(SECRET, {"X-Signature": headers["x-signature"]}, body, now=1_000) == event_id
    # The header is not signed: changed on the way, a real event would be dropped as a "duplicate".
    with pytest.raises(SignatureError, match="X-Event-Id differs"):
        verify_request(SECRET, {**headers, "X-Event-Id": str(uuid.uuid4())}, body, now=1_000)
    unsigned = b'{"type":"call_started"}'
    with pytest.raises(SignatureError, match="no event id"):
        verify_request(SECRET, {"X-Signature": sign(SECRET, 1_000, unsigned)}, unsigned, now=1_000)

def test_a_rotated_secret_is_accepted_under_either_signature():
    old, new = sign(SECRET, 1_700_000_000, BODY), sign("whsec_the-new-secret-0123456789", 1_700_000_000, BODY)
    both = f"{old},{new.split(',')[1]}"
    assert verify("whsec_the-new-secret-0123456789", both, BODY, now=1_700_000_000)
    assert verify(SECRET, both, BODY, now=1_700_000_000)


def test_new_secrets_are_long_and_distinct():
    secrets = {new_secret() for _ in range(20)}
    assert len(secrets) == 20 and all(len(s) >= 40 for s in secrets)


def test_backoff_grows_with_jitter_up_to_its_cap():
    policy = RetryPolicy(base_s=10, cap_s=300, max_attempts=8)
    for seed in range(50):
        rng = random.Random(seed)
        waits = [policy.delay_s(n, rng) for n in range(1, 9)]
        assert waits[:5] == sorted(waits[:5])  # below the cap, each wait is at least the previous one
        assert 5 <= waits[0] <= 10 and all(150 <= w <= 300 for w in waits[5:])  # 10 * 2^5 > 300: capped
    spread = {round(RetryPolicy().delay_s(3, random.Random(s)), 3) for s in range(20)}
    assert len(spread) > 10  # jittered: deliveries that failed together do not retry together
    assert not policy.exhausted(7) and policy.exhausted(8)
    with pytest.raises(ValueError):
        RetryPolicy(base_s=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_s=10, cap_s=5)


def test_endpoint_validation_says_what_is_wrong():
    assert validate_url(" https://crm.example.com/hooks?x=1 ") == "https://crm.example.com/hooks?x=1"
    for bad, why in [("ftp://x.example.com", "http:// or https://, not ftp"), ("crm.example.com/hook", "not nothing"),
                     ("http://", "no host")]:
        with pytest.raises(WebhookConfigError, match=why):
            validate_url(bad)
    assert validate_events(["promise_registered", "call_ended", "call_ended"]) == ["call_ended", "promise_registered"]
    assert validate_events([]) == []
    with pytest.raises(WebhookConfigError, match="unknown webhook event.*promise_made"):
        validate_events(["promise_made"])


async def test_emit_refuses_an_unknown_event_before_touching_the_database():
    with pytest.raises(ValueError, match="unknown webhook event 'ping'"):
        await emit(None, "ping", {})  # type: ignore[arg-type]
    assert "ping" not in EVENTS and len(EVENTS) == 10


def test_the_body_is_stable_json_with_exact_amounts_and_dates():
    event_id = uuid.uuid4()
    at = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
    payload = {"amount": Decimal("104050.00"), "date": date(2025, 12, 15), "attempt": event_id, "name": "Sofía"}
    body = envelope(event_id, "promise_registered", "k", payload, at)
    assert body == envelope(event_id, "promise_registered", "k", payload, at)
    assert body.decode() == dumps({"id": str(event_id), "type": "promise_registered",
                                   "created_at": "2025-12-01T09:00:00+00:00", "call_key": "k",
                                   "data": {"amount": "104050.00", "date": "2025-12-15", "attempt": str(event_id),
                                            "name": "Sofía"}})
    with pytest.raises(TypeError, match="not JSON serialisable"):
        dumps({"x": object()})
