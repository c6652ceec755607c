"""Deletes call recordings once they are older than the operator's retention (RECORDING_RETENTION_DAYS).

Collections recordings are personal data kept as evidence of what was agreed: an operator keeps
them as long as their law and their clients ask, and no longer. This sweep wires the two halves:
`campaigns.recordings.RecordingLedger` says which calls are past the retention and forgets them,
`media.recordings.RecordingStore` deletes the files (in a thread: disk, later network, never on the
event loop that paces live calls' audio). Files go first, rows second, so a crash in between
leaves a row that the next sweep deletes again, never an orphaned recording.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import psycopg

from campaigns.recordings import ExpiredRecording, RecordingLedger
from media.recordings import RecordingStore

__all__ = ["RecordingRetention"]

log = logging.getLogger(__name__)


class RecordingRetention:
    def __init__(self, ledger: RecordingLedger, store: RecordingStore, retention: timedelta, *,
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
