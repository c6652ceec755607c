"""Operators: who may use the dashboard and the API, with which role, and what they did.

A person logs in with a username and a password and gets a session token (a bearer token, so no
cookie and no cross-site request can use it); an integration keeps a machine token (API_TOKENS). Roles
are ordered: a viewer watches (calls, transcripts, figures), a supervisor also listens to recordings,
exports and runs campaigns, an admin also manages operators, webhooks and payment links and reads the
audit log. Every listen, download and export is written to the audit log with who did it.

Passwords are hashed with scrypt (hashlib's, a memory-hard standard KDF, so no native dependency);
the hash runs in a worker thread, never on the event loop. Failed logins are counted from the audit
log: past `MAX_FAILED_LOGINS` for a username, or `MAX_FAILED_LOGINS_PER_ADDRESS` from one address, in
`FAILED_LOGIN_WINDOW`, logins are refused until the window passes, whatever the password; a wrong
username costs as much time as a wrong password.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

SESSION_LIFETIME = timedelta(hours=12)  # a working day; a login each morning
MAX_FAILED_LOGINS = 10  # for one username
MAX_FAILED_LOGINS_PER_ADDRESS = 30  # from one client address, whatever the usernames
FAILED_LOGIN_WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 12
# scrypt's cost: 2**15 x 8 x 128 bytes = 32 MiB and ~0.1 s per hash on one core (OWASP's floor is 2**17 with
# r=8 for a single-user login; an operator console with a lockout is a reasonable place for 2**15).
_N, _R, _P = 2**15, 8, 1
_MAXMEM = 64 * 1024 * 1024


class Role(enum.IntEnum):
    VIEWER = 1
    SUPERVISOR = 2
    ADMIN = 3

    @classmethod
    def named(cls, name: str) -> Role:
        try:
            return cls[name.upper()]
        except KeyError:
            raise OperatorError(f"unknown role {name!r}; roles: admin, supervisor, viewer") from None

    @property
    def label(self) -> str:
        return self.name.lower()


class OperatorError(ValueError):
    """An account the operator asked for cannot be made as given."""


class LoginThrottled(Exception):
    """Too many failed logins for this username lately."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request: an operator, or an integration's machine token."""

    actor: str  # the username, or 'api-token'
    role: Role
    operator_id: int | None = None


MACHINE = Principal("api-token", Role.ADMIN)  # integrations: everything, and audited as such


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=_MAXMEM)
    return "$".join(("scrypt", str(_N), str(_R), str(_P), base64.b64encode(salt).decode(),
                     base64.b64encode(digest).decode()))


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        found = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                               maxmem=_MAXMEM)
    except ValueError:
        return False
    return hmac.compare_digest(found, base64.b64decode(digest))


# Verified when the username is unknown, so that a wrong username takes as long as a wrong password.
_DECOY = hash_password(secrets.token_urlsafe(16))


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise OperatorError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(set(password)) < 4:
        raise OperatorError("a password needs more than a few different characters")


class OperatorStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def create(self, username: str, password: str, role: Role, *, by: str = "cli") -> int:
        username = username.strip().lower()
        _check_password(password)
        hashed = await asyncio.to_thread(hash_password, password)
        async with self._pool.connection() as conn, conn.transaction():
            try:
                cur = await conn.execute(
                    "INSERT INTO operators (username, password_hash, role) VALUES (%s, %s, %s) RETURNING id",
                    (username, hashed, role.label))
            except psycopg.errors.UniqueViolation:
                raise OperatorError(f"an operator named {username!r} already exists") from None
            except psycopg.errors.CheckViolation:
                raise OperatorError("a username is 2-64 characters: lowercase letters, digits, . _ @ -") from None
            (operator_id,) = await cur.fetchone()
            await _audit(conn, by, None, "operator_created", username, {"role": role.label})
        return int(operator_id)

    async def set_password(self, username: str, password: str, *, by: str) -> None:
        _check_password(password)
        hashed = await asyncio.to_thread(hash_password, password)
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute("UPDATE operators SET password_hash = %s WHERE username = %s RETURNING id",
                                     (hashed, username))
            row = await cur.fetchone()
            if row is None:
                raise OperatorError(f"no operator named {username!r}")
            await conn.execute("DELETE FROM operator_sessions WHERE operator_id = %s", (row[0],))
            await _audit(conn, by, None, "password_changed", username, {})

    async def disable(self, username: str, *, by: str) -> None:
        """No more logins, and the operator's open sessions end now."""
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "UPDATE operators SET disabled_at = coalesce(disabled_at, now()) WHERE username = %s RETURNING id",
                (username,))
            row = await cur.fetchone()
            if row is None:
                raise OperatorError(f"no operator named {username!r}")
            await conn.execute("DELETE FROM operator_sessions WHERE operator_id = %s", (row[0],))
            await _audit(conn, by, None, "operator_disabled", username, {})

    async def list(self) -> list[dict[str, Any]]:
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute("SELECT id, username, role, disabled_at, created_at FROM operators ORDER BY username")
            return await cur.fetchall()

    async def login(self, username: str, password: str, *, remote: str = "") -> tuple[str, Principal, datetime]:
        """A new session's token (shown once), who it is, and when it expires. Raises PermissionError for
        a wrong username or password (one message for both), LoginThrottled past the failed-login limit."""
        username = username.strip().lower()
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                """SELECT count(*) FILTER (WHERE target = %(user)s),
                          count(*) FILTER (WHERE remote = %(remote)s AND %(remote)s <> '')
                     FROM audit_log WHERE action = 'login_failed' AND at > now() - %(window)s""",
                {"user": username, "remote": remote, "window": FAILED_LOGIN_WINDOW})
            failures, from_there = await cur.fetchone()
            # Per username (guessing one password), and per address (trying many usernames: each try
            # costs a scrypt, ~0.1 s of a core the calls' audio shares).
            if failures >= MAX_FAILED_LOGINS or from_there >= MAX_FAILED_LOGINS_PER_ADDRESS:
                whose = f"for {username!r}" if failures >= MAX_FAILED_LOGINS else "from this address"
                raise LoginThrottled(f"too many failed logins {whose}; try again in "
                                     f"{FAILED_LOGIN_WINDOW.seconds // 60} minutes")
            cur = await conn.execute(
                "SELECT id, password_hash, role FROM operators WHERE username = %s AND disabled_at IS NULL",
                (username,))
            row = await cur.fetchone()
        ok = await asyncio.to_thread(verify_password, password, row[1] if row else _DECOY)
        if not ok or row is None:
            async with self._pool.connection() as conn:  # committed: the failure counts towards the limit
                await _audit(conn, username or "?", None, "login_failed", username, {}, remote)
            raise PermissionError("wrong username or password")
        async with self._pool.connection() as conn, conn.transaction():
            token = secrets.token_urlsafe(32)
            expires = await _one(conn, "INSERT INTO operator_sessions (token_hash, operator_id, expires_at) "
                                       "VALUES (%s, %s, now() + %s) RETURNING expires_at",
                                 (_token_hash(token), row[0], SESSION_LIFETIME))
            await _audit(conn, username, row[0], "login", username, {}, remote)
        return token, Principal(username, Role.named(row[2]), row[0]), expires

    async def session(self, token: str) -> Principal | None:
        """Who holds this session token, while it is valid and the operator enabled."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                """SELECT o.id, o.username, o.role FROM operator_sessions s JOIN operators o ON o.id = s.operator_id
                    WHERE s.token_hash = %s AND s.expires_at > now() AND o.disabled_at IS NULL""",
                (_token_hash(token),))
            row = await cur.fetchone()
        return Principal(row[1], Role.named(row[2]), row[0]) if row else None

    async def logout(self, token: str, who: Principal, *, remote: str = "") -> None:
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("DELETE FROM operator_sessions WHERE token_hash = %s", (_token_hash(token),))
            await _audit(conn, who.actor, who.operator_id, "logout", who.actor, {}, remote)

    async def audit(self, who: Principal, action: str, target: str, detail: Mapping[str, Any] | None = None,
                    *, remote: str = "") -> None:
        async with self._pool.connection() as conn:
            await _audit(conn, who.actor, who.operator_id, action, target, detail or {}, remote)

    async def audit_entries(self, *, action: str | None = None, actor: str | None = None,
                            limit: int = 200) -> list[dict[str, Any]]:
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                """SELECT id, at, actor, action, target, detail, remote FROM audit_log
                    WHERE (%(action)s::text IS NULL OR action = %(action)s)
                      AND (%(actor)s::text IS NULL OR actor = %(actor)s)
                    ORDER BY id DESC LIMIT %(limit)s""", {"action": action, "actor": actor, "limit": limit})
            return await cur.fetchall()

    async def prune_sessions(self) -> int:
        async with self._pool.connection() as conn:
            cur = await conn.execute("DELETE FROM operator_sessions WHERE expires_at < now()")
            return cur.rowcount


async def _audit(conn: Any, actor: str, operator_id: int | None, action: str, target: str,
                 detail: Mapping[str, Any], remote: str = "") -> None:
    await conn.execute(
        "INSERT INTO audit_log (actor, operator_id, action, target, detail, remote) VALUES (%s, %s, %s, %s, %s, %s)",
        (actor, operator_id, action, target, Jsonb(dict(detail)), remote))


async def _one(conn: Any, query: str, params: tuple[Any, ...]) -> Any:
    cur = await conn.execute(query, params)
    (value,) = await cur.fetchone()
    return value
