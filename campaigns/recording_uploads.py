"""The durable queue of recordings to copy to the object store (RECORDINGS_STORE=s3|both).

A recording is written to the local disk during the call; its row in `call_attempts` gets the key
when the call ends, and from then on, until `recording_uploaded_at` is set, it is waiting for its
upload (migration 0018): nothing separate to enqueue, so nothing a crash could lose. The
`RecordingUploader` worker copies each one (through the store, in a thread: network, never on the
event loop), records the upload, and only then lets the store drop the local copy (RECORDINGS_STORE=s3).
A failure (the store down, a bucket refused) is written on the row and tried again later, the wait
doubling from `backoff_s` up to `backoff_max_s`: an outage of the store delays uploads, loses nothing.

Each process uploads the recordings of its own calls (`node`, as `CallLog` writes it), because the
local copies are on its own disk; rows written before nodes existed are anyone's.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import psycopg
from psycopg_pool import AsyncConnectionPool

__all__ = ["PendingUpload", "RecordingUploader", "RecordingUploads"]

log = logging.getLogger(__name__)


class UploadsRecordings(Protocol):
    """The part of a recording store the uploader uses (`media.recordings.RecordingStore` is one)."""

    def upload(self, key: str) -> None: ...

    def uploaded(self, key: str) -> None: ...

    def delete(self, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class PendingUpload:
    attempt_id: uuid.UUID
    key: str
    tries: int


class RecordingUploads:
    def __init__(self, pool: AsyncConnectionPool, *, node: str | None = None) -> None:
        self._pool = pool
        self._node = node

    async def due(self, now: datetime, limit: int = 20) -> list[PendingUpload]:
        """Ended calls of this node whose recording is not uploaded yet and whose next try is due."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                """SELECT id, recording_path, recording_upload_tries FROM call_attempts
                    WHERE recording_path IS NOT NULL AND recording_uploaded_at IS NULL AND state = 'ended'
                      AND (recording_upload_next_at IS NULL OR recording_upload_next_at <= %(now)s)
                      AND (%(node)s::text IS NULL OR node IS NULL OR node = %(node)s)
                    ORDER BY recording_upload_next_at NULLS FIRST, created_at LIMIT %(limit)s""",
                {"now": now, "node": self._node, "limit": limit})
            return [PendingUpload(*row) for row in await cur.fetchall()]

    async def backlog(self) -> tuple[int, int]:
        """(waiting for a first try, failed at least once) over every node: what /metrics exports."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                """SELECT count(*) FILTER (WHERE recording_upload_tries = 0), count(*) FILTER (WHERE recording_upload_tries > 0)
                     FROM call_attempts
                    WHERE recording_path IS NOT NULL AND recording_uploaded_at IS NULL AND state = 'ended'""")
            waiting, failing = await cur.fetchone()
            return waiting, failing

    async def done(self, upload: PendingUpload) -> bool:
        """Record the upload; False when the row no longer points at this recording (the retention
        deleted it meanwhile), so that the caller deletes the copy it just made."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                """UPDATE call_attempts SET recording_uploaded_at = now(), recording_upload_error = NULL,
                          recording_upload_next_at = NULL
                    WHERE id = %s AND recording_path = %s""", (upload.attempt_id, upload.key))
            return cur.rowcount == 1

    async def failed(self, upload: PendingUpload, error: str, retry_at: datetime) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                """UPDATE call_attempts SET recording_upload_tries = recording_upload_tries + 1,
                          recording_upload_next_at = %s, recording_upload_error = %s
                    WHERE id = %s""", (retry_at, error[:500], upload.attempt_id))


class RecordingUploader:
    def __init__(self, uploads: RecordingUploads, store: UploadsRecordings, *, poll_s: float = 5.0,
                 batch: int = 20, backoff_s: float = 10.0, backoff_max_s: float = 900.0,
                 clock: Callable[[], datetime] = lambda: datetime.now().astimezone()) -> None:
        self._uploads = uploads
        self._store = store
        self._poll_s = poll_s
        self._batch = batch
        self._backoff_s = backoff_s
        self._backoff_max_s = backoff_max_s
        self._clock = clock

    async def run_once(self) -> int:
        """Upload every recording due, a batch at a time, until the store fails; how many were uploaded."""
        uploaded = 0
        while due := await self._uploads.due(self._clock(), self._batch):
            for upload in due:
                try:
                    await asyncio.to_thread(self._store.upload, upload.key)
                except (OSError, ValueError) as exc:
                    await self._failed(upload, exc)
                    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
                        return uploaded  # the store is down: the rest waits for the next round
                    continue
                uploaded += 1
                await self._done(upload)
            if len(due) < self._batch:
                break
        return uploaded

    async def _done(self, upload: PendingUpload) -> None:
        recorded = await self._uploads.done(upload)
        try:
            if recorded:
                await asyncio.to_thread(self._store.uploaded, upload.key)
            else:  # the retention forgot this recording while it was uploaded: its new copy goes too
                await asyncio.to_thread(self._store.delete, upload.key)
        except OSError as exc:  # a local copy left behind is served, and deleted by the retention
            log.warning("recording of call %s uploaded; cleaning up after it failed: %s", upload.attempt_id, exc)

    async def _failed(self, upload: PendingUpload, exc: Exception) -> None:
        wait_s = min(self._backoff_max_s, self._backoff_s * 2 ** min(upload.tries, 30))
        log.warning("recording of call %s not uploaded (try %d), next try in %.0f s: %s",
                    upload.attempt_id, upload.tries + 1, wait_s, exc)
        await self._uploads.failed(upload, f"{type(exc).__name__}: {exc}", self._clock() + timedelta(seconds=wait_s))

    async def run(self) -> None:
        """Upload what is due every `poll_s` until cancelled."""
        while True:
            try:
                await self.run_once()
            except (psycopg.Error, OSError) as exc:  # the database restarting: the next round catches up
                log.warning("recording uploads failed: %s", exc)
            await asyncio.sleep(self._poll_s)
