"""Which calls' recordings have outlived the operator's retention, and forgetting them once deleted.

The files are the recording store's business (`media.recordings`); this module only reads and
updates `call_attempts`. A call's row outlives its recording: the transcript, the outcome and the
promise stay, `recording_path` becomes NULL and `recording_deleted_at` says when and why it is gone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from psycopg_pool import AsyncConnectionPool

__all__ = ["ExpiredRecording", "RecordingLedger"]


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
