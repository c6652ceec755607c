"""`StasisAppLease`: which process serves a Stasis app, decided in the database all processes share.

Two processes registering one Stasis app on one Asterisk is the failure to prevent: Asterisk hands the
app's events to the newest WebSocket (`ApplicationReplaced` to the older one), so the older process's
calls go deaf and the newer one hangs them up as channels it knows nothing of. Asterisk cannot tell a
starting process whether an app is served: it keeps listing an app, inactive, after the process that
served it was killed (measured: a SIGKILLed process's app stayed listed with no WebSocket and no
channel). So the processes keep a lease per (Asterisk, app) here, renewed while they run:

* free, or stale (not renewed for `STALE_S`: its process died or lost the database), it is taken;
* held by a dead pid on this same machine (a crash, then a restart), it is taken at once;
* held by a live process, the app is taken (`StasisAppTaken`), or, for a process that runs beside
  the call center (`make call`, `make campaign`), the next name: ARI_APP-2, -3...
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from typing import Self

import psycopg
from psycopg_pool import AsyncConnectionPool

from ari_app.ari import StasisAppTaken

log = logging.getLogger(__name__)

RENEW_S = 5.0
STALE_S = 20.0  # four renewals missed: a process paused that long has lost its calls' media anyway


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


async def serving_process(conn: psycopg.AsyncConnection, ari_url: str, app: str) -> str | None:
    """The live process serving `app` on the Asterisk at `ari_url` ("node (pid N on host)"), or None
    when the app is free: no lease, a stale one, or one held by a dead process on this machine."""
    cur = await conn.execute(
        """SELECT host, pid, node, heartbeat_at < now() - make_interval(secs => %s)
             FROM stasis_app_leases WHERE ari_url = %s AND app = %s""", (STALE_S, ari_url, app))
    row = await cur.fetchone()
    if row is None:
        return None
    host, pid, node, stale = row
    if stale or (host == socket.gethostname() and not _pid_alive(pid)):
        return None
    return f"{node} (pid {pid} on {host})"


class StasisAppLease:
    """``async with StasisAppLease(pool, ari_url, "callcenter", beside=False) as lease: lease.app``."""

    def __init__(self, pool: AsyncConnectionPool, ari_url: str, app: str, *, node_id: str = "",
                 beside: bool = False) -> None:
        self._pool = pool
        self._ari_url = ari_url
        self._wanted = app
        self._beside = beside
        self._host = socket.gethostname()
        self._node_id = node_id or self._host
        self._pid = os.getpid()
        self.app = ""
        self.node = ""
        self._renewing: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self.app = await self._acquire()
        self.node = f"{self._node_id}/{self.app}"
        if self.app != self._wanted:
            log.warning("Stasis app %r is served by another process (inbound calls go there); this one "
                        "serves %r", self._wanted, self.app)
        self._renewing = asyncio.create_task(self._renew(), name="stasis-app-lease")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._renewing is not None:
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
        with contextlib.suppress(psycopg.Error, OSError):  # the database gone: the lease goes stale by itself
            async with self._pool.connection() as conn:
                await conn.execute("DELETE FROM stasis_app_leases WHERE ari_url = %s AND app = %s AND host = %s "
                                   "AND pid = %s", (self._ari_url, self.app, self._host, self._pid))

    async def _acquire(self) -> str:
        names = [self._wanted, *(f"{self._wanted}-{i}" for i in range(2, 10))] if self._beside else [self._wanted]
        async with self._pool.connection() as conn, conn.transaction():
            # One process at a time decides, per Asterisk: two starting together must not both find a name free.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ("stasis:" + self._ari_url,))
            for name in names:
                holder = await serving_process(conn, self._ari_url, name)
                if holder is not None:
                    log.info("Stasis app %r is served by %s", name, holder)
                    continue
                await conn.execute(
                    """INSERT INTO stasis_app_leases (ari_url, app, host, pid, node) VALUES (%s, %s, %s, %s, %s)
                       ON CONFLICT (ari_url, app) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid,
                                  node = EXCLUDED.node, heartbeat_at = now()""",
                    (self._ari_url, name, self._host, self._pid, f"{self._node_id}/{name}"))
                return name
        raise StasisAppTaken(f"Stasis app {self._wanted!r} is already served by another process on {self._ari_url}: "
                             f"stop it, or give this one its own ARI_APP (and NODE_ID on another machine)")

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_S)
            try:
                async with self._pool.connection() as conn:
                    cur = await conn.execute(
                        """UPDATE stasis_app_leases SET heartbeat_at = now()
                            WHERE ari_url = %s AND app = %s AND host = %s AND pid = %s""",
                        (self._ari_url, self.app, self._host, self._pid))
                    if cur.rowcount == 0:
                        log.error("the lease on Stasis app %r was taken by another process", self.app)
            except (psycopg.Error, OSError) as exc:  # the database away for a moment: the next renewal tries
                log.warning("could not renew the lease on Stasis app %r: %s", self.app, exc)
