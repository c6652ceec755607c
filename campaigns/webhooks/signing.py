"""Signing webhook requests, and checking them on the receiving side.

Every request carries

    X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{raw body}")>

The timestamp is inside the signed text, so a receiver that checks it (`verify` allows 5 minutes
either way) refuses a captured request replayed later; within those minutes, X-Event-Id (the
idempotency key) lets it drop a duplicate. Several `v1=` values may appear (a secret being rotated):
one match is enough. A receiver must verify the raw bytes it received, before parsing the JSON.

Headers are not signed, the body is, and the body carries the event's `id`: `verify_request` checks
the signature and returns that signed id, refusing a request whose X-Event-Id header says otherwise
(someone on the path could otherwise make a receiver drop a real event as a "duplicate", or take a
replayed body as new).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Signature"
EVENT_ID_HEADER = "X-Event-Id"
DEFAULT_TOLERANCE_S = 300


class SignatureError(ValueError):
    """The request is not one we sent (bad or missing signature) or is too old (a replay)."""


def new_secret() -> str:
    """A fresh endpoint secret: 256 random bits."""
    return "whsec_" + secrets.token_urlsafe(32)


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


def sign(secret: str, timestamp: int, body: bytes | str) -> str:
    """The X-Signature header value for `body` sent at `timestamp` (unix seconds)."""
    return f"t={int(timestamp)},v1={_digest(secret, int(timestamp), _bytes(body))}"


def verify(secret: str, header_value: str | None, body: bytes | str, *, now: float,
           tolerance_s: float = DEFAULT_TOLERANCE_S) -> int:
    """Check a received request; its timestamp. Raises SignatureError saying what is wrong."""
    if not header_value:
        raise SignatureError("missing signature")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header_value.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError("malformed signature header")
    expected = _digest(secret, timestamp, _bytes(body))
    # Constant-time comparison: the time taken must not tell an attacker how much of a guess was right.
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise SignatureError("signature does not match")
    # Checked after the HMAC, so an attacker cannot learn anything from a forged timestamp.
    if abs(now - timestamp) > tolerance_s:
        raise SignatureError(
            f"stale timestamp ({int(now - timestamp)} s from now): a replay or a skewed clock")
    return timestamp


def verify_request(secret: str, headers: Mapping[str, str], body: bytes | str, *, now: float,
                   tolerance_s: float = DEFAULT_TOLERANCE_S) -> str:
    """Check a received request whole: its signature and age (`verify`), and that X-Event-Id, when
    sent, is the signed body's `id`. Returns that id: the one to drop duplicates by."""
    lowered = {k.lower(): v for k, v in headers.items()}
    verify(secret, lowered.get(SIGNATURE_HEADER.lower()), body, now=now, tolerance_s=tolerance_s)
    try:
        signed_id = json.loads(body)["id"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SignatureError("the signed body carries no event id") from exc
    header_id = lowered.get(EVENT_ID_HEADER.lower())
    if header_id is not None and header_id != signed_id:
        raise SignatureError(f"{EVENT_ID_HEADER} differs from the signed body's id")
    return str(signed_id)
