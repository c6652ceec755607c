"""Exports: a few at once, each holding a database connection only while the database reads its rows.

An export of up to a million calls is some hundreds of MB of CSV. The database reads it in tens of
seconds (20,000 rows in 0.7 s, docs/measured.md); a client takes it at whatever pace its link, or its
owner's laptop going to sleep, allows. Streamed straight from a cursor, as exports were, the pooled
connection (and its transaction) lived as long as the slowest reader: two or three stalled downloads
emptied the pool the dashboard and, then, the live calls shared. So an export here is:

1. admitted only while one of `ExportLimits.concurrent` slots is free, else 429 with Retry-After. An
   operator retries in a moment; a queue would pile up requests whose clients may have given up, each
   holding its socket and, soon, a connection;
2. spooled: the rows come from a server-side cursor in batches, are encoded in a thread (the event loop
   paces live calls' audio) and written to an anonymous temporary file (in memory up to
   `SPOOL_IN_MEMORY`, then on disk under UPLOAD_DIR, the API's place for debtors' data), all within
   `read_timeout_s`. The connection goes back to the pool with the last row, before the first byte is
   sent, and an export that fails or times out here is a JSON error, not a truncated 200;
3. streamed from the file with its Content-Length. A client that takes no bytes for `stall_timeout_s`
   is cut off (a body short of its Content-Length tells it so) and its slot freed; a slow but steady
   one is served to the end, since it now costs a file and a slot, not a connection.

A time limit on a streamed cursor was the other way: it would cut a legitimate export to a slow link
halfway, and until then it would still hold the connection.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from typing import IO

from aiohttp import web

from api.errors import ApiError
from api.export_formats import ExportWriter, Rows

log = logging.getLogger(__name__)

SPOOL_IN_MEMORY = 4 << 20  # a small export never touches the disk
STREAM_CHUNK = 256 << 10
RETRY_AFTER_S = 30  # an export's usual length: the database's read and a LAN download

# The spool file -> the writer of one format (api/export_formats.py); add() and finish() run in a thread.
WriterFactory = Callable[[IO[bytes]], ExportWriter]


@dataclass(frozen=True, slots=True)
class ExportLimits:
    concurrent: int = 2  # API_EXPORTS_MAX; fewer than the API's connections, so the dashboard keeps some
    read_timeout_s: float = 300.0  # the database's time for one export: a million rows take about 40 s
    stall_timeout_s: float = 60.0  # a client that takes no bytes this long is cut off


class Exports:
    def __init__(self, limits: ExportLimits, spool_dir: str = "") -> None:
        self.limits = limits
        self._spool_dir = spool_dir or None
        self._slots = asyncio.Semaphore(limits.concurrent)
        self.in_progress = 0  # admitted and not yet finished (read, or still being sent)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """One export's admission, for its whole life; 429 when every slot is taken."""
        if self._slots.locked():
            raise ApiError(429, f"{self.limits.concurrent} exports are in progress; try again in a moment",
                           headers={"Retry-After": str(RETRY_AFTER_S)})
        async with self._slots:  # free, so taken at once (no await between the check and this)
            self.in_progress += 1
            try:
                yield
            finally:
                self.in_progress -= 1

    async def spool(self, batches: AsyncIterator[Rows], writer: WriterFactory) -> IO[bytes]:
        """The whole export in a temporary file, positioned at its end; the caller closes it.

        `batches` is closed here whatever happens (aclosing): its connection is back in the pool on return."""
        file = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, dir=self._spool_dir)  # noqa: SIM115
        try:
            out = await asyncio.to_thread(writer, file)
            async with asyncio.timeout(self.limits.read_timeout_s), aclosing(batches):
                async for rows in batches:
                    await asyncio.to_thread(out.add, rows)
            await asyncio.to_thread(out.finish)
        except TimeoutError:
            file.close()
            # psycopg cancelled the query on the server when its await was cancelled.
            raise ApiError(503, f"the export took more than {self.limits.read_timeout_s:.0f} s to read; "
                                "narrow it (since, until, campaign_id)") from None
        except BaseException:
            file.close()
            raise
        file.seek(0, 2)  # a writer (the .xlsx's zip) may leave the position anywhere
        return file

    async def stream(self, file: IO[bytes], request: web.Request, resp: web.StreamResponse) -> None:
        """Send the spooled file, every write bounded by the stall timeout."""
        resp.content_length = file.tell()
        file.seek(0)
        await resp.prepare(request)
        try:
            while chunk := await asyncio.to_thread(file.read, STREAM_CHUNK):
                async with asyncio.timeout(self.limits.stall_timeout_s):
                    await resp.write(chunk)
            async with asyncio.timeout(self.limits.stall_timeout_s):
                await resp.write_eof()
        except TimeoutError:
            log.warning("export to %s cut off: the client took nothing for %.0f s", request.remote,
                        self.limits.stall_timeout_s)
            if request.transport is not None:
                request.transport.abort()  # else aiohttp's own write_eof would wait on the same client
        except ConnectionError:
            log.info("export to %s: the client went away", request.remote)
