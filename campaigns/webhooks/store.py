"""The operator's webhook endpoints (register, list, enable, filter, delete) and their deliveries.

An endpoint's secret is returned once, by `register`; listings never carry it (whoever can list
endpoints must not thereby be able to forge our requests). It is stored sealed by the `SecretBox`
(WEBHOOK_SECRETS_KEY), so whoever can read the table cannot either.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from campaigns.webhooks.events import EVENTS, PRIVATE_EVENTS
from campaigns.webhooks.secret_box import PREFIX, SecretBox, is_sealed
from campaigns.webhooks.signing import new_secret

_MIN_SECRET = 16
_DELIVERY_STATUSES = frozenset({"pending", "delivered", "failed", "dead"})


class WebhookConfigError(ValueError):
    """An endpoint the operator asked for cannot work as given."""


class WebhookNotFound(LookupError):
    pass


def validate_url(url: str) -> str:
    """An http(s) URL with a host and a valid port. Where it points is checked at each delivery, on
    the addresses its name resolves to then (`egress`): a name resolved now could answer otherwise later."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise WebhookConfigError(
            f"webhook URL must start with http:// or https://, not {parts.scheme or 'nothing'}")
    if not parts.hostname:
        raise WebhookConfigError("webhook URL has no host")
    try:
        _ = parts.port  # urlsplit checks the port only when it is read
    except ValueError as exc:
        raise WebhookConfigError(f"webhook URL has a bad port: {exc}") from None
    return url.strip()


def validate_events(events: Iterable[str]) -> list[str]:
    """The filter as stored: sorted, without duplicates; empty means every event."""
    chosen = sorted(set(events))
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise WebhookConfigError(
            f"unknown webhook event(s) {', '.join(unknown)}; known: {', '.join(sorted(EVENTS))}")
    return chosen


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    id: int
    url: str
    events: tuple[str, ...]  # empty: all
    enabled: bool
    description: str
    created_at: datetime
    company_id: int | None = None  # a company's messaging gateway (its payment links); None: the operator's

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> WebhookEndpoint:
        return cls(row["id"], row["url"], tuple(row["events"]), row["enabled"], row["description"],
                   row["created_at"], row.get("company_id"))


@dataclass(frozen=True, slots=True)
class RegisteredEndpoint:
    """What `register` returns: the endpoint, and its secret, shown this once."""

    endpoint: WebhookEndpoint
    secret: str

    def __repr__(self) -> str:  # a registration logged or printed by accident must not leak the key
        return f"RegisteredEndpoint(endpoint={self.endpoint!r}, secret='***')"


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: int
    endpoint_id: int
    event_id: uuid.UUID
    event: str
    call_key: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None


_ENDPOINT_COLUMNS = "id, url, events, enabled, description, created_at, company_id"


def _private_needs_company(events: Iterable[str], company_id: int | None) -> None:
    private = sorted(set(events) & PRIVATE_EVENTS)
    if private and company_id is None:
        raise WebhookConfigError(
            f"{', '.join(private)} carries a debtor's full phone: only a company's messaging gateway "
            "receives it (python -m ari_app payment-links set --company ...)")


class WebhookStore:
    """CRUD of endpoints and a view of their deliveries. All SQL is parameterised."""

    def __init__(self, pool: AsyncConnectionPool, *, box: SecretBox | None = None) -> None:
        self._pool = pool
        self._box = box or SecretBox(None)

    async def register(self, url: str, *, events: Iterable[str] = (), secret: str | None = None,
                       description: str = "", enabled: bool = True,
                       company_id: int | None = None) -> RegisteredEndpoint:
        url = validate_url(url)
        chosen = validate_events(events)
        _private_needs_company(chosen, company_id)
        if secret is not None and len(secret) < _MIN_SECRET:
            raise WebhookConfigError(f"a webhook secret needs at least {_MIN_SECRET} characters")
        if secret is not None and is_sealed(secret):  # stored plain (no key), it would read as sealed
            raise WebhookConfigError(f"a webhook secret cannot start with {PREFIX!r}")
        secret = secret or new_secret()
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                f"""INSERT INTO webhook_endpoints (url, secret, events, enabled, description, company_id)
                    VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_ENDPOINT_COLUMNS}""",
                (url, self._box.seal(secret), chosen, enabled, description, company_id))
            row = await cur.fetchone()
        assert row is not None
        return RegisteredEndpoint(WebhookEndpoint.from_row(row), secret)

    async def seal_plain_secrets(self) -> int:
        """Seal the secrets still stored plain (registered before a key was set); how many. Run at
        start-up, so a deployment upgraded to WEBHOOK_SECRETS_KEY keeps no plain secret. Without a key,
        nothing. Safe in several processes at once: a row is sealed by whichever locks it first."""
        if not self._box.seals:
            return 0
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT id, secret FROM webhook_endpoints WHERE NOT starts_with(secret, %s) FOR UPDATE",
                (PREFIX,))
            plain = await cur.fetchall()
            for endpoint_id, secret in plain:
                await conn.execute("UPDATE webhook_endpoints SET secret = %s WHERE id = %s",
                                   (self._box.seal(secret), endpoint_id))
        return len(plain)

    async def endpoints(self) -> list[WebhookEndpoint]:
        """Every endpoint, without secrets."""
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY id")
            return [WebhookEndpoint.from_row(r) for r in await cur.fetchall()]

    async def get(self, endpoint_id: int) -> WebhookEndpoint:
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = %s",
                              (endpoint_id,))
            row = await cur.fetchone()
        if row is None:
            raise WebhookNotFound(f"no webhook endpoint {endpoint_id}")
        return WebhookEndpoint.from_row(row)

    async def delete(self, endpoint_id: int) -> None:
        """Remove the endpoint and its deliveries (pending ones are dropped, not sent)."""
        await self._update("DELETE FROM webhook_endpoints WHERE id = %s", (endpoint_id,), endpoint_id)

    async def set_enabled(self, endpoint_id: int, enabled: bool) -> None:
        """A disabled endpoint gets no new events; those already queued for it wait until it is enabled."""
        await self._update("UPDATE webhook_endpoints SET enabled = %s WHERE id = %s", (enabled, endpoint_id),
                           endpoint_id)

    async def set_events(self, endpoint_id: int, events: Iterable[str]) -> None:
        """Change the filter for events emitted from now on (empty: all)."""
        chosen = validate_events(events)
        _private_needs_company(chosen, (await self.get(endpoint_id)).company_id)
        await self._update("UPDATE webhook_endpoints SET events = %s WHERE id = %s", (chosen, endpoint_id),
                           endpoint_id)

    async def requeue_dead(self, endpoint_id: int) -> int:
        """Give the endpoint's dead deliveries a fresh set of attempts (once the receiver is fixed)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                """UPDATE webhook_deliveries SET status = 'failed', attempts = 0, next_attempt_at = now()
                    WHERE endpoint_id = %s AND status = 'dead'""", (endpoint_id,))
            return cur.rowcount

    async def deliveries(self, endpoint_id: int, *, status: str | None = None,
                         limit: int = 100) -> list[DeliveryRecord]:
        """The endpoint's deliveries in emission order, with their failures (status code, error, attempts)."""
        if status is not None and status not in _DELIVERY_STATUSES:
            raise WebhookConfigError(f"unknown delivery status {status!r}")
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                """SELECT d.id, d.endpoint_id, d.event_id, o.event, d.call_key, d.status, d.attempts,
                          d.next_attempt_at, d.last_attempt_at, d.last_status_code, d.last_error,
                          d.delivered_at
                     FROM webhook_deliveries d JOIN webhook_outbox o ON o.event_id = d.event_id
                    WHERE d.endpoint_id = %s AND (%s::text IS NULL OR d.status = %s)
                    ORDER BY d.seq LIMIT %s""",
                (endpoint_id, status, status, limit))
            return [DeliveryRecord(**r) for r in await cur.fetchall()]

    async def prune(self, older_than: timedelta) -> int:
        """Forget events older than `older_than` that every endpoint has received (or that had no
        endpoint). Undelivered and dead deliveries are kept: they are the failures an operator acts on."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                """DELETE FROM webhook_outbox o
                    WHERE o.created_at < now() - %s
                      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                                       WHERE d.event_id = o.event_id AND d.status <> 'delivered')""",
                (older_than,))
            return cur.rowcount

    async def _update(self, query: str, params: tuple[Any, ...], endpoint_id: int) -> None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(query, params)
        if cur.rowcount == 0:
            raise WebhookNotFound(f"no webhook endpoint {endpoint_id}")
