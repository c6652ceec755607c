"""A throwaway PostgreSQL database on the lab server, for a test session or a benchmark run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql


@contextmanager
def scratch_database(base_url: str, prefix: str) -> Iterator[str]:
    """Create an empty database next to `base_url`'s, yield its URL, drop it afterwards.

    Raises psycopg.OperationalError when the server is not reachable.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(base_url)._replace(path=f"/{name}"))
    finally:
        # A connection of its own: the server may have been restarted meanwhile (bench/chaos.py does).
        with psycopg.connect(base_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
