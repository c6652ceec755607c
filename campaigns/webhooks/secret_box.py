"""Webhook secrets sealed at rest (`webhook_endpoints.secret`).

The worker needs each endpoint's secret itself to sign requests, so it cannot be hashed: it is
encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under WEBHOOK_SECRETS_KEY, which lives in the
process's environment, never in the database. A dump, a backup or a read-only account then holds
tokens that sign nothing.

A stored value is `fernet:v1:<token>`; the version leaves room for another scheme or key layout
later. A value without the prefix is a plain secret (a row written before sealing existed, or the
lab without a key) and is opened as it is, so an upgrade keeps delivering before the plain rows are
sealed (`WebhookStore.seal_plain_secrets`).
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

PREFIX = "fernet:v1:"
GENERATE_KEY = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


class SecretBoxError(ValueError):
    """A key that is not a Fernet key, or a sealed secret this box cannot open."""


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


class SecretBox:
    """Seals and opens webhook secrets with one Fernet key. `SecretBox(None)` (or "") seals nothing:
    the lab's default, which production refuses (`Settings.insecure_reasons`)."""

    def __init__(self, key: str | bytes | None) -> None:
        self._fernet: Fernet | None = None
        if key:
            try:
                self._fernet = Fernet(key)
            except (ValueError, TypeError):
                # `from None`: the cause's message is harmless, but the key must not reach a traceback.
                raise SecretBoxError(
                    f"WEBHOOK_SECRETS_KEY is not a Fernet key (32 url-safe base64-encoded bytes); "
                    f"generate one with: {GENERATE_KEY}") from None

    @property
    def seals(self) -> bool:
        """Whether secrets are encrypted (a key is set)."""
        return self._fernet is not None

    def seal(self, secret: str) -> str:
        """The stored form of `secret`: sealed with the key, or the secret itself without one."""
        if self._fernet is None:
            return secret
        return PREFIX + self._fernet.encrypt(secret.encode()).decode("ascii")

    def open(self, stored: str) -> str:
        """The secret a stored value holds; a plain (unprefixed) value is returned as it is."""
        if not is_sealed(stored):
            return stored
        if self._fernet is None:
            raise SecretBoxError("the endpoint's secret is sealed but WEBHOOK_SECRETS_KEY is not set")
        try:
            return self._fernet.decrypt(stored[len(PREFIX):].encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            raise SecretBoxError(
                "cannot open the endpoint's secret: it was sealed with another WEBHOOK_SECRETS_KEY "
                "(or the stored value was altered)") from None

    def __repr__(self) -> str:
        return f"SecretBox({'sealing' if self.seals else 'plain'})"
