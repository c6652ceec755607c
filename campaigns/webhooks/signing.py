"""Signing webhook requests, and checking them on the receiving side.

Every request carries

    X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{raw body}")>

The timestamp is inside the signed text, so a receiver that checks it (`verify` allows 5 minutes
either way) refuses a captured request replayed later; within those minutes, X-Event-Id (the
idempotency key) lets it drop a duplicate. Several `v1=` values may appear (a secret being rotated):
one match is enough. A receiver must verify the raw bytes it received, before parsing the JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-Signature"
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
