"""PostgreSQL access: a psycopg 3 connection pool and versioned SQL migrations.

Migrations are the `NNNN_name.sql` files shipped in `campaigns/migrations/`, applied in order
at start-up, each in its own transaction and recorded in `schema_migrations`. A session-level
advisory lock serialises concurrent starters (several dialer processes may boot at once), so
a migration never runs twice.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg_pool import AsyncConnectionPool

log = logging.getLogger(__name__)

# The lab's database (asterisk/lab/defaults.env); production refuses its password (ari_app.settings).
LAB_DATABASE_PASSWORD = "callcenter-lab"
LAB_DATABASE_URL = f"postgresql://callcenter:{LAB_DATABASE_PASSWORD}@127.0.0.1:5432/callcenter"

# Arbitrary constant shared by every process of this project: the advisory lock key for migrations.
_MIGRATION_LOCK_KEY = 0x43414C4C  # "CALL"


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Migration:
    version: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def bundled_migrations() -> list[Migration]:
    """The migrations shipped with the package, sorted by version."""
    found = []
    for entry in resources.files("campaigns.migrations").iterdir():
        if not entry.name.endswith(".sql"):
            continue
        version, _, rest = entry.name.partition("_")
        if not version.isdigit():
            raise MigrationError(f"migration file {entry.name!r} must start with a number")
        found.append(Migration(version, rest.removesuffix(".sql"), entry.read_text("utf-8")))
    found.sort(key=lambda m: int(m.version))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions in {versions}")
    return found


async def apply_migrations(conn: psycopg.AsyncConnection, migrations: list[Migration] | None = None) -> list[str]:
    """Apply pending migrations; returns the versions applied now. Safe to call from many processes."""
    migrations = bundled_migrations() if migrations is None else migrations
    applied_now: list[str] = []
    await conn.set_autocommit(True)
    await conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK_KEY,))
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version    text PRIMARY KEY,
                   name       text NOT NULL,
                   checksum   text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        cur = await conn.execute("SELECT version, checksum FROM schema_migrations")
        done = dict(await cur.fetchall())
        for migration in migrations:
            if migration.version in done:
                if done[migration.version] != migration.checksum:
                    # An edited migration means databases in the field diverge from a fresh one.
                    raise MigrationError(
                        f"migration {migration.version}_{migration.name} was changed after it was applied; "
                        "add a new migration instead"
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
            log.info("applied migration %s_%s", migration.version, migration.name)
            applied_now.append(migration.version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK_KEY,))
    return applied_now


@asynccontextmanager
async def open_database(url: str, *, max_size: int = 10, migrate: bool = True,
                        name: str = "callcenter") -> AsyncIterator[AsyncConnectionPool]:
    """Open a pool (after migrating the schema) for the lifetime of the `async with` block.

    A process with a second pool opens it with `migrate=False`: the first one migrated already.
    `name` tells the pools apart in psycopg_pool's logs and statistics."""
    try:
        async with await psycopg.AsyncConnection.connect(url, connect_timeout=10) as conn:
            if migrate:
                await apply_migrations(conn)
    except psycopg.OperationalError as exc:
        raise MigrationError(f"cannot reach PostgreSQL ({redact_url(url)}): {exc}") from exc
    pool = AsyncConnectionPool(url, min_size=1, max_size=max_size, open=False, name=name)
    await pool.open(wait=True, timeout=15)
    try:
        yield pool
    finally:
        await pool.close()


def redact_url(url: str) -> str:
    """A DSN safe for logs: the password replaced."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
