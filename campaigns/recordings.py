"""Recording retention: recordings older than the operator's RECORDING_RETENTION_DAYS are deleted.

Collections recordings are personal data kept as evidence of what was agreed: an operator keeps
them as long as their law and their clients ask, and no longer. `RecordingLedger` says which calls
are past the retention and forgets them (it reads and updates `call_attempts`); the files are the
recording store's business (`media.recordings`, seen here only as something that can `delete`).
`RecordingRetention` sweeps: files first (in a thread: disk, the object store, never on the event
loop that paces live calls' audio), rows second, so a crash in between leaves a row that the next
sweep deletes again, never an orphaned recording. A call's row outlives its recording: the transcript, the outcome and the
promise stay, `recording_path` becomes NULL and `recording_deleted_at` says when and why it is gone.
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

__all__ = ["ExpiredRecording", "RecordingLedger", "RecordingRetention"]

log = logging.getLogger(__name__)


class DeletesRecordings(Protocol):
    """The part of a recording store the sweep uses (`media.recordings.RecordingStore` is one)."""

    def delete(self, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ExpiredRecording:
    attempt_id: uuid.UUID
    key: str


class RecordingLedger:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def expired(self, recorded_before: datetime, limit: int = 500) -> list[ExpiredRecording]:
        """The oldest calls made before `recorded_before` that still have a recording. A call still
        in progress is never one of them, whatever its age: its file is being written."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                """SELECT id, recording_path FROM call_attempts
                    WHERE recording_path IS NOT NULL AND created_at < %s AND state = 'ended'
                    ORDER BY created_at LIMIT %s""", (recorded_before, limit))
            return [ExpiredRecording(attempt_id, key) for attempt_id, key in await cur.fetchall()]

    async def forget(self, recordings: list[ExpiredRecording]) -> None:
        """Mark these recordings deleted (call after the files are gone: a crash in between leaves a
        row pointing at no file, which the next sweep deletes again, never a file nobody points at)."""
        if not recordings:
            return
        async with self._pool.connection() as conn:
            await conn.execute(
                """UPDATE call_attempts SET recording_path = NULL, recording_deleted_at = now()
                    WHERE id = ANY(%s) AND recording_path IS NOT NULL""",
                ([r.attempt_id for r in recordings],))


class RecordingRetention:
    def __init__(self, ledger: RecordingLedger, store: DeletesRecordings, retention: timedelta, *,
                 every_s: float = 3600.0, batch: int = 500,
                 clock: Callable[[], datetime] = lambda: datetime.now().astimezone()) -> None:
        self._ledger = ledger
        self._store = store
        self._retention = retention
        self._every_s = every_s
        self._batch = batch
        self._clock = clock

    async def run_once(self) -> int:
        """Delete every recording past the retention, a batch at a time; how many were deleted."""
        deleted = 0
        cutoff = self._clock() - self._retention
        while expired := await self._ledger.expired(cutoff, self._batch):
            gone = await asyncio.to_thread(self._delete, expired)
            await self._ledger.forget(gone)
            deleted += len(gone)
            if len(gone) < len(expired):  # some file could not be deleted: try those at the next sweep
                break
        if deleted:
            log.info("deleted %d call recordings older than %d days", deleted, self._retention.days)
        return deleted

    def _delete(self, expired: list[ExpiredRecording]) -> list[ExpiredRecording]:
        gone = []
        for recording in expired:
            try:
                self._store.delete(recording.key)
            except (OSError, ValueError) as exc:  # a read-only disk, a key outside the store
                log.warning("recording of call %s not deleted: %s", recording.attempt_id, exc)
            else:
                gone.append(recording)
        return gone

    async def run(self) -> None:
        """Sweep every `every_s` until cancelled."""
        while True:
            try:
                await self.run_once()
            except (psycopg.Error, OSError) as exc:  # the database restarting: the next sweep catches up
                log.warning("recording retention sweep failed: %s", exc)
            await asyncio.sleep(self._every_s)
