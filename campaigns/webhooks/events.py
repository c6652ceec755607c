"""Webhook events and their emission into the outbox, inside the caller's transaction.

`emit` takes the connection of the transaction that writes the fact being reported (a promise, the
end of a call), so the event commits or rolls back with the fact: no event for a fact that did not
happen, no fact without its event. It writes the outbox row and, in the same statement, one delivery
per endpoint subscribed now (see migration 0007 for why the fan-out happens here), then wakes the
delivery workers with NOTIFY, which PostgreSQL sends only if the transaction commits.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from countries.privacy import mask_phone

EVENTS: frozenset[str] = frozenset({
    "call_started",
    "call_ended",
    "call_analyzed",
    "promise_registered",
    "callback_scheduled",
    "transfer_requested",
    "sentiment_alert",
    "payment_link_requested",
    "payment_link_message",
    "lead_qualified",
})
# Events that carry what only their addressee may know (the debtor's full phone): delivered only to the
# endpoints bound to the event's company that name the event in their filter, never to "every event".
PRIVATE_EVENTS: frozenset[str] = frozenset({"payment_link_message"})

# The LISTEN/NOTIFY channel the delivery workers wait on.
NOTIFY_CHANNEL = "webhook_outbox"

_EMIT = """
WITH o AS (
    INSERT INTO webhook_outbox (event_id, event, call_key, payload)
    VALUES (%(event_id)s, %(event)s, %(call_key)s, %(payload)s)
    RETURNING id),
d AS (
    INSERT INTO webhook_deliveries (endpoint_id, event_id, seq, call_key)
    SELECT e.id, %(event_id)s, o.id, %(call_key)s
      FROM webhook_endpoints e CROSS JOIN o
     WHERE e.enabled
       AND CASE WHEN %(private)s THEN %(event)s = ANY (e.events) AND e.company_id = %(company_id)s
                ELSE cardinality(e.events) = 0 OR %(event)s = ANY (e.events) END
    RETURNING 1)
SELECT pg_notify(%(channel)s, '') WHERE EXISTS (SELECT 1 FROM d)
"""


def _json_default(value: Any) -> Any:
    # The facts carry dates, amounts and ids; receivers get them as strings (amounts exact, not floats).
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable in a webhook payload")


def dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"))


async def emit(conn: AsyncConnection[Any], event: str, payload: Mapping[str, Any], *,
               call_key: str | uuid.UUID | None = None, company_id: int | None = None) -> uuid.UUID:
    """Record `event` for delivery; its event id (the receivers' idempotency key).

    A private event (`PRIVATE_EVENTS`) goes only to `company_id`'s endpoints that ask for it by name.

    Runs on `conn` as it is: the caller's open transaction, so the event shares the fact's fate.
    Events with the same `call_key` reach each endpoint in outbox id order. For a call's events that
    is commit order: every writer of a call's facts (CallLog, CallActions) updates its call_attempts
    row before emitting, and that row lock makes a concurrent second writer wait for the first's commit.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}; known: {', '.join(sorted(EVENTS))}")
    event_id = uuid.uuid4()
    await conn.execute(_EMIT, {
        "event_id": event_id,
        "event": event,
        "call_key": None if call_key is None else str(call_key),
        "payload": Jsonb(dict(payload), dumps=dumps),
        "channel": NOTIFY_CHANNEL,
        "private": event in PRIVATE_EVENTS,
        "company_id": company_id,
    })
    return event_id


def call_summary(attempt_id: uuid.UUID, *, direction: str, remote_number: str, debtor_id: int | None,
                 campaign_id: int | None, job_id: int | None, phone_id: int | None) -> dict[str, Any]:
    """The call part of every call event's payload.

    The payload goes to the client's own systems, which know their debtors by our debtor id; the
    phone is masked all the same (a receiver's logs are not ours to protect), and `phone_id` lets a
    system allowed to know the number (a payment-link sender) look it up.
    """
    return {
        "attempt_id": str(attempt_id),
        "direction": direction,
        "debtor_id": debtor_id,
        "campaign_id": campaign_id,
        "job_id": job_id,
        "phone_id": phone_id,
        "phone": mask_phone(remote_number) if remote_number else None,
    }
