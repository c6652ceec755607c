"""A call's transcript versions and its re-processing job, in PostgreSQL (migration 0014).

The live transcript (`call_lines`, and `call_turns` with each turn's recogniser confidence) is what
the call heard and is never changed. Re-processing (`ari_app.reprocess`) writes two versions into
`call_transcript_versions`: 'live', a snapshot of those rows, and 'offline', the caller's lines
transcribed again from the recording. `call_reprocessing` is the job: queued, running, done or failed.

Which calls are weak: those whose turns' mean confidence is under a threshold, or in which the
correction stage (`media.stt.correct`) changed or doubted at least half the turns (`call_turns.heard_raw`,
`stt_doubts`, migration 0015): a live transcript that needed that much correcting was hard to hear.
"""


from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

__all__ = ["CallAudioSource", "CandidateCall", "TranscriptVersions"]

VERSIONS = ("live", "offline")


#: A call in which the correction stage changed or doubted this share of the turns is weak.
WEAK_CORRECTED_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class CandidateCall:
    """A recorded call in a date range, with its live transcript's mean confidence (None: no turns)."""

    attempt_id: uuid.UUID
    created_at: datetime
    turns: int
    mean_confidence: float | None
    weak: bool
    corrected: int = 0  # turns the correction stage changed or doubted


@dataclass(frozen=True, slots=True)
class CallAudioSource:
    """What re-processing a call starts from: its recording's key and its live transcript."""

    attempt_id: uuid.UUID
    recording_path: str | None
    recording_deleted: bool
    lines: list[dict[str, Any]]  # call_lines: speaker, text, start_ms, end_ms, source, interrupted
    turns: int
    mean_confidence: float | None  # of call_turns.confidence


_CANDIDATES = """
SELECT a.id, a.created_at, count(t.id) AS turns, avg(t.confidence)::float8 AS mean_confidence,
       count(t.id) FILTER (WHERE t.heard_raw IS NOT NULL OR t.stt_doubts <> '[]'::jsonb) AS corrected
  FROM call_attempts a
  LEFT JOIN call_turns t ON t.attempt_id = a.id AND t.confidence IS NOT NULL
 WHERE a.created_at >= %(since)s AND a.created_at < %(until)s
   AND a.recording_path IS NOT NULL AND a.recording_deleted_at IS NULL AND a.answered_at IS NOT NULL
 GROUP BY a.id, a.created_at
 ORDER BY a.created_at, a.id
"""
_JOB_COLUMNS = "attempt_id, status, requested_by, requested_at, started_at, finished_at, error"


class TranscriptVersions:
    def __init__(self, pool: AsyncConnectionPool, *, weak_confidence: float = 0.55) -> None:
        if not 0 <= weak_confidence <= 1:
            raise ValueError("the weak-confidence threshold must be within 0..1")
        self._pool = pool
        self.weak_confidence = weak_confidence

    def is_weak(self, mean_confidence: float | None, *, turns: int = 0, corrected: int = 0) -> bool:
        """A transcript with turns whose mean confidence is under the threshold, or with at least
        `WEAK_CORRECTED_SHARE` of them corrected. A call without scored turns is not weak by this measure
        (nothing says so), but can still be re-processed by id."""
        if turns and corrected / turns >= WEAK_CORRECTED_SHARE:
            return True
        return mean_confidence is not None and mean_confidence < self.weak_confidence

    # ---------------------------------------------------------------- which calls
    async def candidates(self, since: datetime, until: datetime, *, only_weak: bool = False) -> list[CandidateCall]:
        """Answered, recorded calls (recording not deleted) created in [since, until), oldest first."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(_CANDIDATES, {"since": since, "until": until})
            rows = await cur.fetchall()
        found = [CandidateCall(a, at, n, m, self.is_weak(m, turns=n, corrected=c), c) for a, at, n, m, c in rows]
        return [c for c in found if c.weak] if only_weak else found

    async def source(self, attempt_id: uuid.UUID) -> CallAudioSource | None:
        """The call's recording key and live transcript; None when there is no such call."""
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute("""SELECT recording_path, recording_deleted_at IS NOT NULL AS deleted
                                   FROM call_attempts WHERE id = %s""", (attempt_id,))
            call = await cur.fetchone()
            if call is None:
                return None
            await cur.execute("""SELECT speaker, text, start_ms, end_ms, source, interrupted FROM call_lines
                                  WHERE attempt_id = %s ORDER BY start_ms, id""", (attempt_id,))
            lines = await cur.fetchall()
            await cur.execute("""SELECT count(confidence) AS turns, avg(confidence)::float8 AS mean
                                   FROM call_turns WHERE attempt_id = %s""", (attempt_id,))
            turns = await cur.fetchone()
        assert turns is not None
        return CallAudioSource(attempt_id, call["recording_path"], call["deleted"], lines, turns["turns"],
                               turns["mean"])

    # ---------------------------------------------------------------- the versions
    async def save(self, attempt_id: uuid.UUID, version: str, *, model: str, beam: int | None,
                   lines: list[dict[str, Any]], mean_confidence: float | None,
                   decode_s: float | None = None) -> None:
        """Write (or replace) one version of the call's transcript."""
        if version not in VERSIONS:
            raise ValueError(f"transcript version must be one of {VERSIONS}, got {version!r}")
        async with self._pool.connection() as conn:
            await conn.execute(
                """INSERT INTO call_transcript_versions
                          (attempt_id, version, model, beam, lines, mean_confidence, decode_s)
                   VALUES (%s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (attempt_id, version) DO UPDATE
                      SET model = EXCLUDED.model, beam = EXCLUDED.beam, lines = EXCLUDED.lines,
                          mean_confidence = EXCLUDED.mean_confidence, decode_s = EXCLUDED.decode_s,
                          created_at = now()""",
                (attempt_id, version, model, beam, Jsonb(lines), mean_confidence, decode_s))

    async def versions(self, attempt_id: uuid.UUID, *, with_lines: bool = True) -> list[dict[str, Any]]:
        """The call's transcript versions, 'live' first."""
        columns = "version, model, beam, mean_confidence, decode_s, created_at" + (", lines" if with_lines else "")
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(f"SELECT {columns} FROM call_transcript_versions WHERE attempt_id = %s "
                              "ORDER BY version = 'offline', created_at", (attempt_id,))
            return await cur.fetchall()

    # ---------------------------------------------------------------- the job
    async def request(self, attempt_id: uuid.UUID, *, by: str) -> dict[str, Any]:
        """Queue the call's re-processing (a finished or failed job is queued again; a queued or
        running one is left as it is); the job's row."""
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                f"""INSERT INTO call_reprocessing (attempt_id, requested_by) VALUES (%s, %s)
                    ON CONFLICT (attempt_id) DO UPDATE
                       SET status = 'queued', requested_by = EXCLUDED.requested_by, requested_at = now(),
                           started_at = NULL, finished_at = NULL, error = NULL
                     WHERE call_reprocessing.status IN ('done', 'failed')
                    RETURNING {_JOB_COLUMNS}""", (attempt_id, by))
            row = await cur.fetchone()
        return row if row is not None else await self._job_or_fail(attempt_id)

    async def started(self, attempt_id: uuid.UUID, *, by: str = "") -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                """INSERT INTO call_reprocessing (attempt_id, requested_by, status, started_at)
                   VALUES (%s, %s, 'running', now())
                   ON CONFLICT (attempt_id) DO UPDATE
                      SET status = 'running', started_at = now(), finished_at = NULL, error = NULL""",
                (attempt_id, by))

    async def finished(self, attempt_id: uuid.UUID, *, error: str | None = None) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                """UPDATE call_reprocessing SET status = %s, finished_at = now(), error = %s
                    WHERE attempt_id = %s""", ("failed" if error else "done", error and error[:1000], attempt_id))

    async def job(self, attempt_id: uuid.UUID) -> dict[str, Any] | None:
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(f"SELECT {_JOB_COLUMNS} FROM call_reprocessing WHERE attempt_id = %s", (attempt_id,))
            return await cur.fetchone()

    async def claim_next(self) -> uuid.UUID | None:
        """The oldest queued job, now marked running (several processes never take the same one)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                """UPDATE call_reprocessing SET status = 'running', started_at = now()
                    WHERE attempt_id = (SELECT attempt_id FROM call_reprocessing WHERE status = 'queued'
                                         ORDER BY requested_at LIMIT 1 FOR UPDATE SKIP LOCKED)
                   RETURNING attempt_id""")
            row = await cur.fetchone()
        return row[0] if row else None

    async def _job_or_fail(self, attempt_id: uuid.UUID) -> dict[str, Any]:
        job = await self.job(attempt_id)
        if job is None:
            raise LookupError(f"no re-processing job for call {attempt_id}")
        return job
