"""The call queue: jobs in PostgreSQL, claimed with `FOR UPDATE SKIP LOCKED` under a lease.

Any number of dialer processes share it. A claim takes due jobs for one trunk, never more than
the trunk's free channels (the cap counts every process's live leases). A worker extends its
lease while the call is up; a job whose lease expires (its worker died) goes back to the queue,
and since the call attempt row was written before the originate, the limits still count the
call that may have been placed. Every change is guarded by the lease owner, so a worker that
lost its lease can no longer touch the job.

The clock of leases is the database's, the one clock every host shares.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from campaigns.calls import STALE_OPEN_ATTEMPT

log = logging.getLogger(__name__)


class JobState(enum.StrEnum):
    QUEUED = "queued"
    CLAIMED = "claimed"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobPurpose(enum.StrEnum):
    """What a job calls for (`call_jobs.purpose`): the call center picks the conversation's prompt by it."""

    COLLECTION = "collection"
    # A promise's date and grace passed unpaid: the call reminds the debtor of it (`ClaimedJob.promise_id`).
    PROMISE_REMINDER = "promise_reminder"
    # A sales campaign's call to a lead (`campaigns.kind` 'sales'): the offer, not a debt.
    SALES = "sales"


class LeaseLost(RuntimeError):
    """The job's lease expired and the queue gave it back; this worker must let it go."""


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: int
    campaign_id: int
    debtor_id: int
    trunk: str
    attempts: int
    claims: int
    last_phone_id: int | None
    callback_at: datetime | None
    lease_expires_at: datetime
    purpose: JobPurpose = JobPurpose.COLLECTION
    promise_id: int | None = None  # the broken promise a PROMISE_REMINDER is about

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ClaimedJob:
        return cls(**{k: row[k] for k in cls.__slots__} | {"purpose": JobPurpose(row["purpose"])})


# The trunk's channels in use: jobs under a live lease, and outbound calls still up whose job is not
# (its lease taken back while the call went on: the channel is busy all the same), a crash's leftover
# aside (STALE_OPEN_ATTEMPT).
_BUSY = """
SELECT (SELECT count(*) FROM call_jobs WHERE state = 'claimed' AND trunk = %(trunk)s AND lease_expires_at > now())
     + (SELECT count(*) FROM call_attempts a
         WHERE a.direction = 'outbound' AND a.state <> 'ended' AND a.created_at > now() - %(stale)s
           AND right(a.endpoint, length(%(trunk)s) + 1) = '@' || %(trunk)s
           AND NOT EXISTS (SELECT 1 FROM call_jobs j WHERE j.id = a.job_id AND j.state = 'claimed'
                                                       AND j.lease_expires_at > now()))
"""

# The picked ids are matched by primary key (`= ANY (ARRAY(...))`), not joined: with a join the
# planner guessed how many rows the claim picks and, on a queue of mostly queued jobs, chose to
# scan the whole table under the trunk's lock (bench/claim_throughput.py: 287 jobs/s whatever the
# number of claimers).
_CLAIM = """
UPDATE call_jobs
   SET state = 'claimed', lease_owner = %(owner)s, lease_expires_at = now() + make_interval(secs => %(lease)s),
       claims = claims + 1, dialing_at = NULL, updated_at = now()
 WHERE id = ANY (ARRAY(
        SELECT id FROM call_jobs
         WHERE state = 'queued' AND trunk = %(trunk)s AND next_at <= now()
           -- a paused (or finished) campaign's jobs wait where they are
           AND NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.id = call_jobs.campaign_id AND c.status <> 'active')
         ORDER BY next_at, id
         LIMIT %(n)s
         FOR UPDATE SKIP LOCKED))
RETURNING id, campaign_id, debtor_id, trunk, attempts, claims, last_phone_id, callback_at, lease_expires_at,
          purpose, promise_id
"""


class CallQueue:
    def __init__(self, pool: AsyncConnectionPool, owner: str, *, lease_s: float = 90.0) -> None:
        self._pool = pool
        self.owner = owner
        self.lease_s = lease_s

    async def claim(self, trunk: str, *, cap: int, limit: int) -> list[ClaimedJob]:
        """Up to `limit` due jobs for `trunk`, never past `cap` live calls on it across all workers.

        The trunk's cap is checked and taken in one statement under a transaction-scoped advisory
        lock on the trunk: two workers counting free channels at the same instant would otherwise
        both see the same free channel.
        """
        if limit <= 0:
            return []
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ("trunk:" + trunk,))
            cur = await conn.execute(_BUSY, {"trunk": trunk, "stale": STALE_OPEN_ATTEMPT})
            (busy,) = await cur.fetchone()
            n = min(limit, cap - busy)
            if n <= 0:
                return []
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(_CLAIM, {"trunk": trunk, "n": n, "owner": self.owner, "lease": self.lease_s})
            return [ClaimedJob.from_row(r) for r in await cur.fetchall()]

    async def reap_expired(self) -> list[int]:
        """Return jobs whose worker stopped extending its lease to the queue, due now; their ids."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                """UPDATE call_jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL,
                          next_at = now(), reason = 'lease_expired', updated_at = now()
                    WHERE state = 'claimed' AND lease_expires_at < now()
                RETURNING id""")
            reaped = sorted(row[0] for row in await cur.fetchall())
        if reaped:
            log.warning("returned %d job(s) whose lease expired to the queue", len(reaped))
        return reaped

    async def extend(self, job_id: int) -> datetime:
        """Keep the lease while the call is up; raises LeaseLost when it was already taken back."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                """UPDATE call_jobs SET lease_expires_at = now() + make_interval(secs => %s), updated_at = now()
                    WHERE id = %s AND state = 'claimed' AND lease_owner = %s
                RETURNING lease_expires_at""",
                (self.lease_s, job_id, self.owner))
            row = await cur.fetchone()
        if row is None:
            raise LeaseLost(job_id)
        return row[0]

    async def release(self, conn: psycopg.AsyncConnection, job_id: int, *, next_at: datetime, reason: str,
                      **changes: Any) -> None:
        """Back to the queue, due at `next_at` (inside the caller's transaction)."""
        await self._update(conn, job_id, JobState.QUEUED, reason, next_at=next_at, **changes)

    async def finish(self, conn: psycopg.AsyncConnection, job_id: int, state: JobState, reason: str,
                     **changes: Any) -> None:
        """End the job for good: done, failed or cancelled (inside the caller's transaction)."""
        assert state in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)
        await self._update(conn, job_id, state, reason, **changes)

    async def _update(self, conn: psycopg.AsyncConnection, job_id: int, state: JobState, reason: str,
                      **changes: Any) -> None:
        allowed = {"next_at", "attempts", "last_phone_id", "last_outcome", "callback_at"}
        if set(changes) - allowed:
            raise ValueError(f"cannot change {sorted(set(changes) - allowed)} on a job")
        # Column names come from the fixed set above; values are parameters.
        sets = "".join(f", {name} = %({name})s" for name in changes)
        cur = await conn.execute(
            f"""UPDATE call_jobs SET state = %(state)s, reason = %(reason)s, lease_owner = NULL,
                       lease_expires_at = NULL, updated_at = now(){sets}
                 WHERE id = %(id)s AND state = 'claimed' AND lease_owner = %(owner)s""",
            {"state": state.value, "reason": reason, "id": job_id, "owner": self.owner, **changes})
        if cur.rowcount != 1:
            raise LeaseLost(job_id)

    async def note_dialing(self, conn: psycopg.AsyncConnection, job_id: int, phone_id: int) -> None:
        """Before the originate: the phone chosen and the attempt counted, so a crash keeps both."""
        cur = await conn.execute(
            """UPDATE call_jobs SET attempts = attempts + 1, last_phone_id = %s, dialing_at = now(),
                      updated_at = now()
                WHERE id = %s AND state = 'claimed' AND lease_owner = %s""",
            (phone_id, job_id, self.owner))
        if cur.rowcount != 1:
            raise LeaseLost(job_id)
        await conn.execute("UPDATE phones SET last_tried_at = now() WHERE id = %s", (phone_id,))

    async def counts(self, campaign_id: int) -> dict[str, int]:
        """Jobs by state, for progress displays."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT state, count(*) FROM call_jobs WHERE campaign_id = %s GROUP BY state", (campaign_id,))
            return {state: n for state, n in await cur.fetchall()}
