"""The dialer's gate and settle on a real PostgreSQL: phone rotation, exhaustion, exclusion, do-not-call,
"stop calling me", callbacks, and the operator's "why was this person not called?"."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

from campaigns.calls import CallLog, CallOutcome, Direction
from campaigns.contacts import ContactService, add_do_not_call, stop_calling
from campaigns.planner import WavePlanner
from campaigns.policy import Verdict
from campaigns.queue import CallQueue
from campaigns.report import explain, progress
from tests.campaigns.conftest import make_campaign, seed_debtors


def _now() -> datetime:
    return datetime.now().astimezone()


class Desk:
    """One campaign with one debtor, and a dialer's view of its queue."""

    def __init__(self, pool, campaign, debtor_id):
        self.pool, self.campaign, self.debtor_id = pool, campaign, debtor_id
        self.queue = CallQueue(pool, f"desk-{uuid.uuid4().hex[:6]}")
        self.contacts = ContactService(pool, self.queue)

    @classmethod
    async def open(cls, pool, company, phones=2):
        campaign = await make_campaign(pool, company)
        (debtor_id,) = await seed_debtors(pool, company, 1, phones=phones, timezone=campaign.timezone)
        return cls(pool, campaign, debtor_id)

    async def wave(self, slot: str | None = None):
        return await WavePlanner(self.pool).plan(self.campaign, _now(), slot=slot)

    async def claim(self, *, make_due: bool = False):
        if make_due:  # as if the retry delay had passed: the history moves an hour back
            async with self.pool.connection() as conn:
                await conn.execute("UPDATE call_jobs SET next_at = now() WHERE debtor_id = %s AND state = 'queued'",
                                   (self.debtor_id,))
                await conn.execute("UPDATE call_attempts SET created_at = created_at - interval '61 minutes' "
                                   "WHERE debtor_id = %s", (self.debtor_id,))
        jobs = await self.queue.claim(self.campaign.trunk, cap=5, limit=5)
        assert len(jobs) == 1, jobs
        return jobs[0]

    async def dial(self, job):
        """What the dialer does before the originate: gate, then the attempt row; (target, attempt id)."""
        target = await self.contacts.gate(job, self.campaign, _now())
        assert target is not None
        attempt = uuid.uuid4()
        await CallLog(self.pool).open_attempt(
            attempt_id=attempt, direction=Direction.OUTBOUND, channel_id=f"t-{attempt}", job_id=job.id,
            campaign_id=self.campaign.id, debtor_id=self.debtor_id, phone_id=target.phone_id)
        return target, attempt

    async def call(self, job, outcome: CallOutcome):
        """A whole call: dial, the outcome, then settle."""
        target, attempt = await self.dial(job)
        await CallLog(self.pool).close_attempt(attempt, outcome=outcome, hangup_cause=None, hangup_cause_txt=None)
        decision = await self.contacts.settle(job, self.campaign, outcome, target.phone_id, _now())
        return target, decision

    async def job_row(self):
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT state, reason, attempts FROM call_jobs WHERE debtor_id = %s "
                                     "ORDER BY id DESC LIMIT 1", (self.debtor_id,))
            return await cur.fetchone()


async def test_phones_rotate_and_the_job_fails_when_all_are_invalid(db_pool, company):
    desk = await Desk.open(db_pool, company)
    assert (await desk.wave()).enqueued == 1
    first, decision = await desk.call(await desk.claim(), CallOutcome.INVALID_NUMBER)
    assert (decision.verdict, decision.reason) == (Verdict.DEFER, "retry_delay_failure")
    assert decision.not_before - _now() > timedelta(minutes=29)
    second, decision = await desk.call(await desk.claim(make_due=True), CallOutcome.INVALID_NUMBER)
    assert second.phone_id != first.phone_id
    assert (decision.verdict, decision.reason) == (Verdict.FAIL, "all_phones_exhausted")
    assert await desk.job_row() == ("failed", "all_phones_exhausted", 2)
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT status FROM phones WHERE debtor_id = %s", (desk.debtor_id,))
        assert {r[0] for r in await cur.fetchall()} == {"invalid"}


async def test_a_third_day_without_answer_excludes_the_debtor_at_once(db_pool, company):
    desk = await Desk.open(db_pool, company)
    log = CallLog(db_pool)
    for days_ago in (3, 1):  # two earlier days with calls nobody answered
        attempt = uuid.uuid4()
        await log.open_attempt(attempt_id=attempt, direction=Direction.OUTBOUND, channel_id=f"t-{attempt}",
                               debtor_id=desk.debtor_id)
        await log.close_attempt(attempt, outcome=CallOutcome.NO_ANSWER, hangup_cause=19, hangup_cause_txt=None)
        async with db_pool.connection() as conn:
            await conn.execute("UPDATE call_attempts SET created_at = now() - make_interval(days => %s) "
                               "WHERE id = %s", (days_ago, attempt))
    await desk.wave()
    _, decision = await desk.call(await desk.claim(), CallOutcome.NO_ANSWER)
    assert (decision.verdict, decision.reason) == (Verdict.EXCLUDE, "no_answer_on_3_days")
    assert await desk.job_row() == ("cancelled", "no_answer_on_3_days", 1)
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT exclusion_reason FROM debtors WHERE id = %s", (desk.debtor_id,))
        assert await cur.fetchone() == ("no_answer_on_3_days",)
    assert (await desk.wave("later")).skipped == {"excluded": 1}  # and no later wave picks them again


async def test_do_not_call_is_honoured_at_the_next_dial(db_pool, company):
    desk = await Desk.open(db_pool, company)
    await desk.wave()
    job = await desk.claim()
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT e164 FROM phones WHERE debtor_id = %s ORDER BY position", (desk.debtor_id,))
        first, second = [r[0] for r in await cur.fetchall()]
    await add_do_not_call(db_pool, first, "national registry")
    target = await desk.contacts.gate(job, desk.campaign, _now())
    assert target is not None and target.e164 == second


async def test_stop_calling_me_cancels_at_once_and_why_says_so(db_pool, company):
    desk = await Desk.open(db_pool, company)
    await desk.wave()
    await desk.call(await desk.claim(), CallOutcome.BUSY)  # now waiting for its retry
    assert await stop_calling(db_pool, desk.debtor_id) == 1
    assert await desk.job_row() == ("cancelled", "asked_not_to_be_called", 1)
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT national_id FROM debtors WHERE id = %s", (desk.debtor_id,))
        (national_id,) = await cur.fetchone()
    lines = "\n".join(await explain(db_pool, national_id, country="US"))
    assert "EXCLUDED since" in lines and "asked_not_to_be_called" in lines
    assert "deferred: retry_delay_no_answer" in lines  # the history of decisions, newest first
    assert "calls in the last 7 days: 1" in lines and "busy" in lines
    assert "policy now: excluded" in lines
    assert national_id not in lines  # masked, as everything printed is


async def test_a_requested_callback_waits_for_its_time(db_pool, company):
    desk = await Desk.open(db_pool, company)
    await desk.wave()
    callback = _now() + timedelta(minutes=20)
    async with db_pool.connection() as conn:
        await conn.execute("UPDATE call_jobs SET callback_at = %s WHERE debtor_id = %s", (callback, desk.debtor_id))
    job = await desk.claim()
    assert await desk.contacts.gate(job, desk.campaign, _now()) is None
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT state, reason, next_at FROM call_jobs WHERE id = %s", (job.id,))
        state, reason, next_at = await cur.fetchone()
    assert (state, reason) == ("queued", "callback_requested")
    assert abs((next_at - callback).total_seconds()) < 1
    shown = await progress(db_pool, desk.campaign, _now())
    assert shown.jobs == {"queued": 1} and shown.settled


async def test_two_campaigns_gating_one_debtor_at_once_dial_them_once(db_pool, company):
    # Two campaigns of one company hold a job for the same person, claimed by two dialers (two
    # processes) at the same instant: at most one call; the other job waits while that call is up.
    desks = [await Desk.open(db_pool, company)]
    desks.append(Desk(db_pool, await make_campaign(db_pool, company), desks[0].debtor_id))
    for desk in desks:
        await desk.wave()
    jobs = [await desk.claim() for desk in desks]
    targets = await asyncio.gather(*(d.contacts.gate(j, d.campaign, _now()) for d, j in zip(desks, jobs)))
    assert sum(t is not None for t in targets) == 1, targets
    i = 0 if targets[0] else 1
    dialer, waiter = desks[i], desks[1 - i]
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT state, reason, next_at > now() FROM call_jobs WHERE id = %s",
                                 (jobs[1 - i].id,))
        assert await cur.fetchone() == ("queued", "in_another_call", True)
    # The call is placed (its attempt row open): the waiting job, due again, is still held back (the
    # policy now sees that call in the history, and waits its retry delay).
    attempt = uuid.uuid4()
    log = CallLog(db_pool)
    await log.open_attempt(attempt_id=attempt, direction=Direction.OUTBOUND, channel_id=f"t-{attempt}",
                           job_id=jobs[i].id, campaign_id=dialer.campaign.id, debtor_id=dialer.debtor_id,
                           phone_id=targets[i].phone_id)
    async with db_pool.connection() as conn:
        await conn.execute("UPDATE call_jobs SET next_at = now() WHERE id = %s", (jobs[1 - i].id,))
    again = await waiter.claim()
    assert await waiter.contacts.gate(again, waiter.campaign, _now()) is None
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT state, next_at > now() FROM call_jobs WHERE id = %s", (again.id,))
        assert await cur.fetchone() == ("queued", True)
    await log.close_attempt(attempt, outcome=CallOutcome.NO_ANSWER, hangup_cause=None, hangup_cause_txt=None)
    await dialer.contacts.settle(jobs[i], dialer.campaign, CallOutcome.NO_ANSWER, targets[i].phone_id, _now())
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM call_attempts WHERE debtor_id = %s", (dialer.debtor_id,))
        assert await cur.fetchone() == (1,)
