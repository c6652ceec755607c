"""The delivery worker: sends the outbox's deliveries to the endpoints, signed, with retries.

A delivery is claimed by pushing its `next_attempt_at` ahead by a lease and counting the attempt,
in a short transaction (FOR UPDATE SKIP LOCKED, so several workers share the work); the HTTP
request runs outside any transaction; its result is written in another. A worker that dies
mid-send leaves the row to be retried when the lease ends: delivery is at least once, and
receivers drop duplicates by X-Event-Id.

Order: only the earliest undelivered event of a call (`call_key`) for an endpoint can be claimed,
so a receiver sees each call's events in the order they happened, even across retries. A dead
event (given up on) no longer holds the call's later events back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import aiohttp
import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from yarl import URL

from campaigns.webhooks.egress import EgressPolicy, EgressRefused
from campaigns.webhooks.events import NOTIFY_CHANNEL, dumps
from campaigns.webhooks.resolver import GuardedResolver
from campaigns.webhooks.retry import RetryPolicy
from campaigns.webhooks.secret_box import SecretBox, SecretBoxError
from campaigns.webhooks.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, sign
from campaigns.webhooks.store import WebhookNotFound, WebhookStore

log = logging.getLogger(__name__)

_USER_AGENT = "asterisk-ai-callcenter-webhooks/1"
_MAX_ERROR = 500  # characters of an error kept in last_error
# Characters of a failing receiver's reply kept in last_error, which the API shows (the deliveries
# list, the test ping). A receiver's own words ("invalid signature", "unknown event") are what the
# operator needs to fix it, and they are short. More would make the API a way to read any page the
# worker can reach: a URL registered at some public service that is not a webhook receiver would
# have its pages echoed back, and (only when allowed with WEBHOOK_ALLOWED_NETWORKS) a LAN one's too.
# A refused address is never connected to, so it has no reply to echo.
_MAX_REPLY = 100
_PRUNE_EVERY_S = 3600.0

_CLAIM = """
WITH due AS (
    SELECT d.id
      FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
     WHERE d.status IN ('pending', 'failed') AND d.next_attempt_at <= now() AND e.enabled
       AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
                        WHERE p.endpoint_id = d.endpoint_id AND p.call_key = d.call_key AND p.seq < d.seq
                          AND p.status IN ('pending', 'failed'))
     ORDER BY d.seq
     LIMIT %(limit)s
       FOR UPDATE OF d SKIP LOCKED),
claimed AS (
    UPDATE webhook_deliveries w
       SET attempts = w.attempts + 1, last_attempt_at = now(),
           next_attempt_at = now() + make_interval(secs => %(lease_s)s)
      FROM due WHERE w.id = due.id
    RETURNING w.id, w.endpoint_id, w.event_id, w.attempts)
SELECT c.id, c.endpoint_id, c.event_id, c.attempts, e.url, e.secret,
       o.event, o.call_key, o.payload, o.created_at
  FROM claimed c
  JOIN webhook_endpoints e ON e.id = c.endpoint_id
  JOIN webhook_outbox o ON o.event_id = c.event_id
 ORDER BY o.id
"""

# `attempts = %s`: the result is written only by the worker that made this attempt (a lease that ran
# out and was claimed again belongs to the new attempt).
_DELIVERED = """UPDATE webhook_deliveries
                   SET status = 'delivered', delivered_at = now(), last_status_code = %s, last_error = NULL
                 WHERE id = %s AND attempts = %s AND status IN ('pending', 'failed')"""
_FAILED = """UPDATE webhook_deliveries
                SET status = %s, next_attempt_at = now() + make_interval(secs => %s),
                    last_status_code = %s, last_error = %s
              WHERE id = %s AND attempts = %s AND status IN ('pending', 'failed')"""


@dataclass(frozen=True, slots=True)
class SendResult:
    """What one request got: an HTTP status, or the error that stopped it."""

    status_code: int | None
    error: str | None = None
    # Trying again cannot help (the address is refused): the delivery is dead at once, until the
    # operator changes WEBHOOK_ALLOWED_NETWORKS or the URL and requeues it.
    permanent: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def envelope(event_id: uuid.UUID, event: str, call_key: str | None, payload: Any,
             created_at: datetime) -> bytes:
    """The JSON body of a request; the same bytes on every retry of one delivery."""
    return dumps({"id": str(event_id), "type": event, "created_at": created_at.isoformat(),
                  "call_key": call_key, "data": payload}).encode()


def _reply_excerpt(raw: bytes) -> str:
    """The start of a reply, on one line: control characters cannot forge lines in logs or the UI."""
    text = raw[:_MAX_REPLY].decode("utf-8", "replace")
    return "".join(c if c.isprintable() else " " for c in text).strip()


def _literal_host(url: str) -> str | None:
    """The URL's host as aiohttp will connect to it (brackets off an IPv6 address); None if unparsable."""
    try:
        return URL(url).raw_host
    except (ValueError, TypeError):
        return None  # aiohttp refuses it too, as an invalid URL


def _redact(url: str) -> str:
    """The URL without path, query or credentials (tokens often live there): safe for logs and rows."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}/..."


class WebhookDelivery:
    """Delivers due webhook events, for the lifetime of an `async with` block (it owns the HTTP session).

    `run_once()` does one round (tests, a CLI); `run()` loops until cancelled, polling every `poll_s`
    and, given `listen_dsn`, woken at once by the NOTIFY of a committed emit.
    """

    def __init__(self, pool: AsyncConnectionPool, *, retry: RetryPolicy | None = None,
                 timeout_s: float = 10.0, batch_size: int = 20, poll_s: float = 2.0,
                 listen_dsn: str | None = None, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.time, retention: timedelta | None = None,
                 egress: EgressPolicy | None = None, box: SecretBox | None = None) -> None:
        self._pool = pool
        # Opens the endpoints' secrets as stored (sealed under WEBHOOK_SECRETS_KEY, or plain).
        self.secret_box = box or SecretBox(None)
        # Where requests may go: public addresses only, unless the operator allows networks
        # (WEBHOOK_ALLOWED_NETWORKS). Never wider by default: see `egress`.
        self._egress = egress or EgressPolicy()
        # Delivered events older than this are deleted (hourly), so the outbox does not grow forever.
        self._retention = retention
        self._pruned_at = 0.0
        self._retry = retry or RetryPolicy()
        self._timeout_s = timeout_s
        # Long enough for a whole batch of requests (each bounded by the timeout) and the result write.
        self._lease_s = 2 * timeout_s + 10
        self._batch_size = batch_size
        self._poll_s = poll_s
        self._listen_dsn = listen_dsn
        self._rng = rng or random.Random()
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._resolver: GuardedResolver

    async def __aenter__(self) -> Self:
        # The connector does not close a resolver it was given: `__aexit__` does.
        self._resolver = GuardedResolver(self._egress)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(resolver=self._resolver),
            timeout=aiohttp.ClientTimeout(total=self._timeout_s), headers={"User-Agent": _USER_AGENT})
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
            await self._resolver.close()

    # ---------------------------------------------------------------- delivering
    async def run_once(self) -> int:
        """Claim the due deliveries (one batch), send them concurrently, record the results; how many."""
        async with self._pool.connection() as conn, conn.transaction():
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(_CLAIM, {"limit": self._batch_size, "lease_s": self._lease_s})
            claimed = await cur.fetchall()
        if not claimed:
            return 0
        results = await asyncio.gather(*(
            self._post(c["url"], c["secret"], c["event_id"], c["event"],
                       envelope(c["event_id"], c["event"], c["call_key"], c["payload"], c["created_at"]),
                       attempt=c["attempts"])
            for c in claimed))
        async with self._pool.connection() as conn, conn.transaction():
            for c, result in zip(claimed, results, strict=True):
                await self._record(conn, c, result)
        return len(claimed)

    async def _record(self, conn: psycopg.AsyncConnection[Any], c: dict[str, Any],
                      result: SendResult) -> None:
        if result.ok:
            await conn.execute(_DELIVERED, (result.status_code, c["id"], c["attempts"]))
            return
        dead = result.permanent or self._retry.exhausted(c["attempts"])
        delay = 0.0 if dead else self._retry.delay_s(c["attempts"], self._rng)
        await conn.execute(_FAILED, ("dead" if dead else "failed", delay, result.status_code, result.error,
                                     c["id"], c["attempts"]))
        what = f"HTTP {result.status_code}" if result.status_code is not None else result.error
        if dead:
            log.warning("webhook %s %s to endpoint %s is dead after %d attempt(s): %s",
                        c["event"], c["event_id"], c["endpoint_id"], c["attempts"], what)
        else:
            log.info("webhook %s %s to endpoint %s failed (attempt %d: %s); retry in %.1f s",
                     c["event"], c["event_id"], c["endpoint_id"], c["attempts"], what, delay)

    async def _post(self, url: str, stored_secret: str, event_id: uuid.UUID, event: str, body: bytes, *,
                    attempt: int) -> SendResult:
        if self._session is None:
            raise RuntimeError("WebhookDelivery is used outside its `async with` block")
        try:
            secret = self.secret_box.open(stored_secret)
        except SecretBoxError as exc:
            # Another key (or none) than the one the secret was sealed with: no retry can help, and one
            # endpoint's row must not stop the others' deliveries. Dead, with the reason, until the
            # right key is set and the deliveries are requeued.
            return SendResult(None, str(exc), permanent=True)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, int(self._clock()), body),
            EVENT_ID_HEADER: str(event_id),  # a copy of the signed body's id (`verify_request`)
            "X-Event-Type": event,
            "X-Delivery-Attempt": str(attempt),
        }
        host = _literal_host(url)
        if host is not None and (refusal := self._egress.refusal_for_literal(host)) is not None:
            return SendResult(None, refusal, permanent=True)
        try:
            # No redirects: a 3xx is the receiver's misconfiguration, and following it would send the
            # signed event to a host the operator never registered (and past the egress check).
            async with self._session.post(url, data=body, headers=headers, allow_redirects=False) as resp:
                if 200 <= resp.status < 300:
                    return SendResult(resp.status)
                reply = _reply_excerpt(await resp.content.read(_MAX_REPLY))
                reason = _reply_excerpt((resp.reason or "").encode())
                return SendResult(resp.status, f"HTTP {resp.status} {reason}: {reply}")
        except TimeoutError:
            return SendResult(None, f"timeout after {self._timeout_s:g} s")
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, EgressRefused):  # the resolver refused the name's addresses
                return SendResult(None, str(exc.os_error), permanent=True)
            return SendResult(None, self._client_error(exc, url))
        except aiohttp.ClientError as exc:
            return SendResult(None, self._client_error(exc, url))

    @staticmethod
    def _client_error(exc: aiohttp.ClientError, url: str) -> str:
        return f"{type(exc).__name__}: {exc}".replace(url, _redact(url))[:_MAX_ERROR]

    async def test(self, endpoint_id: int) -> SendResult:
        """Send a signed `ping` to the endpoint now (enabled or not), outside the outbox; what came back."""
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT url, secret FROM webhook_endpoints WHERE id = %s",
                                     (endpoint_id,))
            row = await cur.fetchone()
        if row is None:
            raise WebhookNotFound(f"no webhook endpoint {endpoint_id}")
        url, stored_secret = row
        event_id = uuid.uuid4()
        now = datetime.fromtimestamp(self._clock()).astimezone()
        body = envelope(event_id, "ping", None, {"endpoint_id": endpoint_id}, now)
        return await self._post(url, stored_secret, event_id, "ping", body, attempt=1)

    # ---------------------------------------------------------------- the loop
    async def run(self) -> None:
        """Deliver until cancelled."""
        wake = asyncio.Event()
        listener = None
        if self._listen_dsn:
            listener = asyncio.create_task(self._listen(wake), name="webhook-listen")
        try:
            while True:
                wake.clear()  # before the round: a NOTIFY that arrives during it makes the wait below return
                try:
                    busy = await self.run_once() > 0
                except (psycopg.Error, OSError) as exc:  # the database restarting: try again at the next poll
                    log.warning("webhook delivery round failed: %s", exc)
                    busy = False
                await self._prune_now_and_then()
                if not busy:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), self._poll_s)
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener

    async def _prune_now_and_then(self) -> None:
        if self._retention is None or self._clock() - self._pruned_at < _PRUNE_EVERY_S:
            return
        self._pruned_at = self._clock()
        try:
            pruned = await WebhookStore(self._pool).prune(self._retention)
        except (psycopg.Error, OSError) as exc:
            log.warning("could not prune delivered webhook events: %s", exc)
            return
        if pruned:
            log.info("pruned %d delivered webhook event(s) older than %s", pruned, self._retention)

    async def _listen(self, wake: asyncio.Event) -> None:
        """LISTEN on a connection of its own (a pooled one must not be held in autocommit forever)."""
        assert self._listen_dsn is not None
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._listen_dsn, autocommit=True) as conn:
                    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(NOTIFY_CHANNEL)))
                    wake.set()  # whatever was emitted while nobody listened
                    async for _ in conn.notifies():
                        wake.set()
            except psycopg.Error as exc:
                log.warning("webhook wake-up listener lost (%s); polling every %.1f s meanwhile",
                            exc, self._poll_s)
            await asyncio.sleep(max(self._poll_s, 1.0))
