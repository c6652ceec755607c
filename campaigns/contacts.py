"""Before and after each call: ask the contact policy, and act on its answer in the database.

`gate` runs when a dialer has claimed a job: it loads the debtor's phones and call history,
asks the policy, and either returns the phone to dial (having counted the attempt on the job)
or puts the job back / ends it and records why. What earlier conversations left holds the job
too (an open promise, a follow-up waiting for a person: `campaigns.holds`), and a promise
reminder whose promise was marked kept meanwhile is not made. `settle` runs when the call has ended: the
outcome goes onto the job and the phone, and the policy says what happens next.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from agent.vocabulary import CallResult
from campaigns.calls import STALE_OPEN_ATTEMPT, CallOutcome
from campaigns.campaign import Campaign, zone
from campaigns.holds import load_holds
from campaigns.policy import Attempt, ContactPolicy, DebtorState, Decision, Phone, Verdict
from campaigns.queue import CallQueue, ClaimedJob, JobPurpose, JobState

log = logging.getLogger(__name__)

# The history the policy needs reaches back at most this far (weekly limits, 3 no-answer days
# that may be spread over weekends and holidays).
HISTORY = timedelta(days=45)


@dataclass(frozen=True, slots=True)
class DialTarget:
    """What the dialer needs to place the call the policy allowed."""

    phone_id: int
    e164: str
    reason: str  # "ok" or "callback"


class ContactService:
    def __init__(self, pool: AsyncConnectionPool, queue: CallQueue) -> None:
        self._pool = pool
        self._queue = queue

    async def gate(self, job: ClaimedJob, campaign: Campaign, now: datetime) -> DialTarget | None:
        """The phone to dial now, or None when the policy said no (the job is then put back or ended)."""
        policy = ContactPolicy(campaign.policy_config)
        async with self._pool.connection() as conn, conn.transaction():
            # The debtor's row locked until this transaction ends: a second gate for the same person
            # (another campaign's job, another process) waits here, then sees this job's dial
            # (`note_dialing`) in `load_state` and defers; without the lock both read the same history.
            await conn.execute("SELECT 1 FROM debtors WHERE id = %s FOR UPDATE", (job.debtor_id,))
            if job.claims > 1 and await self._reached_before(conn, job):
                # Back from an expired lease (its dialer died) after the debtor had answered: the
                # conversation happened, so the job is done, not dialed again.
                await self._queue.finish(conn, job.id, JobState.DONE, "reached",
                                         last_outcome=CallOutcome.ANSWERED.value)
                await self._record(conn, job, "done", "reached", {"settled": "after the dialer was lost"})
                return None
            if job.purpose is JobPurpose.PROMISE_REMINDER and await self._promise_kept(conn, job):
                # Marked kept between the wave and this dial (`holds.mark_promise` cancels only queued jobs).
                await self._queue.finish(conn, job.id, JobState.CANCELLED, "promise_kept")
                await self._record(conn, job, "done", "promise_kept", {"promise_id": job.promise_id})
                return None
            state = await load_state(conn, job.debtor_id, campaign, last_phone_id=job.last_phone_id,
                                     callback_at=job.callback_at, job_id=job.id)
            decision = policy.decide(state, now)
            if not decision.call:
                await self._apply(conn, job, decision, attempts=job.attempts)
                return None
            assert decision.phone_id is not None
            await self._queue.note_dialing(conn, job.id, decision.phone_id)
            cur = await conn.execute("SELECT e164 FROM phones WHERE id = %s", (decision.phone_id,))
            (e164,) = await cur.fetchone()
        return DialTarget(decision.phone_id, e164, decision.reason)

    async def settle(self, job: ClaimedJob, campaign: Campaign, outcome: CallOutcome, phone_id: int,
                     now: datetime, *, attempt_id: uuid.UUID | None = None) -> Decision:
        """After the call: record the outcome, then queue the next try, or end the job, as the policy says.

        An answered call ends the job with the conversation's result, unless the agent booked a
        callback (the job waits for it) or it was a wrong number (the next phone is tried later).
        """
        policy = ContactPolicy(campaign.policy_config)
        async with self._pool.connection() as conn, conn.transaction():
            if outcome is CallOutcome.INVALID_NUMBER:
                await conn.execute("UPDATE phones SET status = 'invalid' WHERE id = %s", (phone_id,))
            # A callback the debtor asked for has been made now: it is not honoured twice.
            changes = {"last_outcome": outcome.value, "callback_at": None}
            result, callback_at = await self._result_of(conn, job, attempt_id)
            if outcome is CallOutcome.ANSWERED and result != CallResult.WRONG_NUMBER and callback_at is None:
                # A conversation: what the agent recorded (a promise, a refusal...) ends the job.
                reason = result or "reached"
                await self._queue.finish(conn, job.id, JobState.DONE, reason, **changes)
                await self._record(conn, job, "done", reason, {"outcome": outcome.value})
                return Decision(Verdict.CALL, reason)
            state = await load_state(conn, job.debtor_id, campaign, last_phone_id=phone_id,
                                        callback_at=callback_at, job_id=job.id)
            if callback_at is not None:
                changes["callback_at"] = callback_at  # the debtor's request, booked by the agent: kept
            decision = policy.decide(state, now)
            if decision.call:  # cannot normally happen right after a call (retry delays); be explicit
                decision = Decision(Verdict.DEFER, "retry", not_before=now)
            await self._apply(conn, job, decision, **changes)
            return decision

    # ---------------------------------------------------------------- helpers
    @staticmethod
    async def _reached_before(conn: psycopg.AsyncConnection, job: ClaimedJob) -> bool:
        """Did a call of this job reach the debtor, with nothing that keeps the job alive? `settle` ends
        the job after such a call; finding one on a live job means its dialer died before settling."""
        cur = await conn.execute(
            """SELECT EXISTS (SELECT 1 FROM call_attempts
                               WHERE job_id = %s AND answered_at IS NOT NULL
                                 AND result IS DISTINCT FROM %s AND result IS DISTINCT FROM %s)""",
            (job.id, CallResult.WRONG_NUMBER, CallResult.CALLBACK))
        (reached,) = await cur.fetchone()
        return reached

    @staticmethod
    async def _promise_kept(conn: psycopg.AsyncConnection, job: ClaimedJob) -> bool:
        cur = await conn.execute("SELECT status = 'kept' FROM promises WHERE id = %s", (job.promise_id,))
        row = await cur.fetchone()
        return bool(row and row[0])

    @staticmethod
    async def _result_of(conn: psycopg.AsyncConnection, job: ClaimedJob,
                         attempt_id: uuid.UUID | None) -> tuple[str | None, datetime | None]:
        """The result the agent's tools recorded on this call, and a callback booked on the job."""
        result = None
        if attempt_id is not None:
            cur = await conn.execute("SELECT result FROM call_attempts WHERE id = %s", (attempt_id,))
            row = await cur.fetchone()
            result = row[0] if row else None
        cur = await conn.execute("SELECT callback_at FROM call_jobs WHERE id = %s", (job.id,))
        (callback_at,) = await cur.fetchone()
        # The callback this job was claimed for has just been made; only a new one counts.
        return result, (callback_at if callback_at != job.callback_at else None)

    async def _apply(self, conn: psycopg.AsyncConnection, job: ClaimedJob, decision: Decision, **changes) -> None:
        detail = {**decision.detail, **({"law": decision.law} if decision.law else {})}
        if decision.verdict is Verdict.DEFER:
            assert decision.not_before is not None
            await self._queue.release(conn, job.id, next_at=decision.not_before, reason=decision.reason, **changes)
            detail["not_before"] = decision.not_before.isoformat()
            await self._record(conn, job, "deferred", decision.reason, detail)
            return
        if decision.verdict is Verdict.EXCLUDE:
            await conn.execute(
                """UPDATE debtors SET excluded_at = coalesce(excluded_at, now()),
                          exclusion_reason = coalesce(exclusion_reason, %s), updated_at = now()
                    WHERE id = %s""", (decision.reason, job.debtor_id))
            await self._queue.finish(conn, job.id, JobState.CANCELLED, decision.reason, **changes)
        elif decision.verdict is Verdict.DO_NOT_CALL:
            await self._queue.finish(conn, job.id, JobState.CANCELLED, decision.reason, **changes)
        elif decision.verdict is Verdict.HOLD:
            # Not deferred: a job waiting weeks for a person would count in every day's quota. The
            # planner queues the debtor again (a reminder, for a broken promise) once the hold ends.
            if decision.not_before is not None:
                detail["not_before"] = decision.not_before.isoformat()
            await self._queue.finish(conn, job.id, JobState.CANCELLED, decision.reason, **changes)
        else:  # FAIL: every phone exhausted
            await self._queue.finish(conn, job.id, JobState.FAILED, decision.reason, **changes)
        await self._record(conn, job, decision.verdict.value, decision.reason, detail)
        log.info("job %d (debtor %d): %s, %s", job.id, job.debtor_id, decision.verdict.value, decision.reason)

    @staticmethod
    async def _record(conn: psycopg.AsyncConnection, job: ClaimedJob, decision: str, reason: str,
                      detail: dict) -> None:
        await conn.execute(
            """INSERT INTO contact_decisions (campaign_id, debtor_id, job_id, decision, reason, detail)
               VALUES (%s, %s, %s, %s, %s, %s)""",
            (job.campaign_id, job.debtor_id, job.id, decision, reason, Jsonb(detail)))


async def load_state(conn: psycopg.AsyncConnection, debtor_id: int, campaign: Campaign, *,
                     last_phone_id: int | None = None, callback_at: datetime | None = None,
                     job_id: int | None = None) -> DebtorState:
    """The debtor as the policy sees it: phones (with the do-not-call list), calls, exclusion, what
    holds them back (open promises, a follow-up waiting for a person), and whether a call with them
    other than `job_id`'s is being placed or is up."""
    cur = await conn.execute(
        "SELECT timezone, exclusion_reason FROM debtors WHERE id = %s", (debtor_id,))
    tz, excluded = await cur.fetchone()
    cur = await conn.execute(
        """SELECT p.id, p.position, p.status = 'active', n.e164 IS NOT NULL
             FROM phones p LEFT JOIN do_not_call n ON n.e164 = p.e164
            WHERE p.debtor_id = %s""", (debtor_id,))
    phones = [Phone(i, pos, usable, dnc) for i, pos, usable, dnc in await cur.fetchall()]
    # Every outbound call to this person counts, from any campaign: the limits protect the person.
    cur = await conn.execute(
        """SELECT created_at, coalesce(phone_id, 0), outcome, result IS DISTINCT FROM %s
             FROM call_attempts
            WHERE debtor_id = %s AND direction = 'outbound' AND created_at > now() - %s
            ORDER BY created_at""", (CallResult.WRONG_NUMBER, debtor_id, HISTORY))
    attempts = [Attempt(at, pid, CallOutcome(o) if o else None, reached)
                for at, pid, o, reached in await cur.fetchall()]
    promises, waiting = await load_holds(conn, debtor_id)
    cur = await conn.execute(_IN_ANOTHER_CALL, {"debtor": debtor_id, "job": job_id, "stale": STALE_OPEN_ATTEMPT})
    (in_call,) = await cur.fetchone()
    return DebtorState(phones=phones, attempts=attempts, timezone=zone(tz, campaign.tz), last_phone_id=last_phone_id,
                       excluded_reason=excluded, callback_at=callback_at, open_promises=promises,
                       waiting_for_human=waiting, in_another_call=in_call)


# Another job dialing the debtor (its gate passed, its lease alive: the attempt row may not exist yet),
# or an attempt with them still open (outbound or an inbound call they made; not a crash's leftover:
# STALE_OPEN_ATTEMPT).
_IN_ANOTHER_CALL = """
SELECT EXISTS (SELECT 1 FROM call_jobs
                WHERE debtor_id = %(debtor)s AND id IS DISTINCT FROM %(job)s AND state = 'claimed'
                  AND dialing_at IS NOT NULL AND lease_expires_at > now())
    OR EXISTS (SELECT 1 FROM call_attempts
                WHERE debtor_id = %(debtor)s AND job_id IS DISTINCT FROM %(job)s AND state <> 'ended'
                  AND created_at > now() - %(stale)s)
"""


async def stop_calling(pool: AsyncConnectionPool, debtor_id: int, reason: str = "asked_not_to_be_called") -> int:
    """The debtor said "stop calling me": excluded at once, queued jobs cancelled; returns how many.

    A job being dialed right now is settled by its dialer, and the policy then sees the exclusion.
    """
    async with pool.connection() as conn, conn.transaction():
        return await exclude_debtor(conn, debtor_id, reason)


async def exclude_debtor(conn: Any, debtor_id: int, reason: str) -> int:
    """`stop_calling` inside the caller's transaction (a call's result and the exclusion are one fact)."""
    await conn.execute(
        """UPDATE debtors SET excluded_at = coalesce(excluded_at, now()), exclusion_reason = %s,
                  updated_at = now() WHERE id = %s""", (reason, debtor_id))
    cur = await conn.execute(
        """UPDATE call_jobs SET state = 'cancelled', reason = %s, updated_at = now()
            WHERE debtor_id = %s AND state = 'queued' RETURNING id, campaign_id""", (reason, debtor_id))
    cancelled = await cur.fetchall()
    await conn.execute(
        """INSERT INTO contact_decisions (campaign_id, debtor_id, job_id, decision, reason)
           SELECT c, %s, j, 'excluded', %s FROM unnest(%s::bigint[], %s::bigint[]) AS t(j, c)""",
        (debtor_id, reason, [j for j, _ in cancelled], [c for _, c in cancelled]))
    if not cancelled:
        await conn.execute(
            "INSERT INTO contact_decisions (debtor_id, decision, reason) VALUES (%s, 'excluded', %s)",
            (debtor_id, reason))
    return len(cancelled)


async def add_do_not_call(pool: AsyncConnectionPool, e164: str, reason: str) -> None:
    """Put a number on the do-not-call list; every later gate and wave skips it."""
    async with pool.connection() as conn:
        await conn.execute(
            """INSERT INTO do_not_call (e164, reason) VALUES (%s, %s)
               ON CONFLICT (e164) DO UPDATE SET reason = EXCLUDED.reason""", (e164, reason))
