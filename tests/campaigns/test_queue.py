"""The call queue on a real PostgreSQL: concurrent claimers, the trunk cap, leases, a killed claimer."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime

import pytest
from psycopg_pool import AsyncConnectionPool

from ari_app.calls.campaign_dialer import CampaignDialer
from campaigns.calls import CallLog, CallOutcome, Direction
from campaigns.campaign import CampaignStore
from campaigns.contacts import ContactService
from campaigns.planner import WavePlanner
from campaigns.queue import CallQueue, JobState, LeaseLost
from tests.campaigns.conftest import make_campaign, seed_debtors

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


async def _enqueue(db_pool, company, n, **policy):
    campaign = await make_campaign(db_pool, company, debtors_per_day=n, **policy)
    await seed_debtors(db_pool, company, n, timezone=campaign.timezone)
    result = await WavePlanner(db_pool).plan(campaign, datetime.now().astimezone())
    assert result.enqueued == n, result
    return campaign


async def test_concurrent_claimers_never_take_the_same_job(db_pool, company):
    campaign = await _enqueue(db_pool, company, 300)
    taken: list[list[int]] = [[] for _ in range(8)]

    async def claimer(i: int) -> None:
        queue = CallQueue(db_pool, f"claimer-{i}")
        while jobs := await queue.claim(campaign.trunk, cap=10_000, limit=7):
            taken[i].extend(j.id for j in jobs)
            await asyncio.sleep(0)

    await asyncio.gather(*(claimer(i) for i in range(8)))
    every = [job for jobs in taken for job in jobs]
    assert len(every) == len(set(every)) == 300
    assert sum(1 for jobs in taken if jobs) >= 2  # they really did share the work


async def test_a_paused_campaign_is_not_dialed_until_resumed(db_pool, company):
    campaign = await _enqueue(db_pool, company, 3)
    store = CampaignStore(db_pool)
    queue = CallQueue(db_pool, "dialer")
    await store.set_status(campaign.id, "paused")
    assert await queue.claim(campaign.trunk, cap=10, limit=10) == []
    await store.set_status(campaign.id, "active")
    assert len(await queue.claim(campaign.trunk, cap=10, limit=10)) == 3


async def test_the_trunk_cap_holds_across_claimers(db_pool, company):
    campaign = await _enqueue(db_pool, company, 40)
    queues = [CallQueue(db_pool, f"dialer-{i}") for i in range(4)]
    claimed = await asyncio.gather(*(q.claim(campaign.trunk, cap=5, limit=5) for q in queues))
    assert sum(len(c) for c in claimed) == 5
    assert await queues[0].claim(campaign.trunk, cap=5, limit=5) == []
    # A finished call frees its channel for whoever claims next.
    owner_index = next(i for i, c in enumerate(claimed) if c)
    job = claimed[owner_index][0]
    async with db_pool.connection() as conn:
        await queues[owner_index].finish(conn, job.id, JobState.DONE, "test")
    assert len(await queues[3].claim(campaign.trunk, cap=5, limit=5)) == 1


async def _kill_a_claimer_mid_call(database_url: str, campaign, *extra: str) -> tuple[int, float]:
    """Run tests/campaigns/claimer.py until it has placed its call, SIGKILL it; (job id, killed at)."""
    env = {**os.environ, "DATABASE_URL": database_url}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.campaigns.claimer", campaign.trunk, str(campaign.id), "2", *extra,
        cwd=REPO, env=env, stdout=subprocess.PIPE)
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
        assert line.startswith("dialing "), line
        job_id = int(line.split()[1])
        proc.send_signal(signal.SIGKILL)  # mid-call: no chance to clean up
        await asyncio.wait_for(proc.wait(), 5)
        killed_at = time.monotonic()
    finally:
        if proc.returncode is None:
            proc.kill()
    return job_id, killed_at


async def test_a_killed_claimer_returns_its_job_after_the_lease_and_its_call_still_counts(
        db_pool, database_url, company):
    campaign = await _enqueue(db_pool, company, 1)
    job_id, killed_at = await _kill_a_claimer_mid_call(database_url, campaign)
    survivor = CallQueue(db_pool, "survivor", lease_s=30)
    # The queue is the whole database's: other tests' expired leases may be reaped too; only ours matters.
    assert job_id not in await survivor.reap_expired()  # the dead worker's lease still runs
    assert await survivor.claim(campaign.trunk, cap=10, limit=10) == []
    await asyncio.sleep(max(0.0, 2.3 - (time.monotonic() - killed_at)))
    assert job_id in await survivor.reap_expired()
    (job,) = await survivor.claim(campaign.trunk, cap=10, limit=10)
    assert (job.id, job.claims, job.attempts) == (job_id, 2, 1)

    # The attempt the dead worker placed (row written before its originate) counts for the limits:
    # the policy now waits the failure retry delay instead of calling again at once.
    contacts = ContactService(db_pool, survivor)
    assert await contacts.gate(job, campaign, datetime.now().astimezone()) is None
    async with db_pool.connection() as conn:
        cur = await conn.execute(
            "SELECT state, reason, next_at > now() + interval '25 minutes' FROM call_jobs WHERE id = %s", (job_id,))
        assert await cur.fetchone() == ("queued", "retry_delay_failure", True)
        cur = await conn.execute("SELECT count(*), count(outcome) FROM call_attempts WHERE job_id = %s", (job_id,))
        assert await cur.fetchone() == (1, 0)


async def test_a_job_whose_debtor_answered_before_its_dialer_died_is_not_called_again(
        db_pool, database_url, company):
    campaign = await _enqueue(db_pool, company, 1)
    job_id, _ = await _kill_a_claimer_mid_call(database_url, campaign, "answered")
    survivor = CallQueue(db_pool, "survivor")
    await asyncio.sleep(2.3)
    assert job_id in await survivor.reap_expired()
    (job,) = await survivor.claim(campaign.trunk, cap=10, limit=10)
    assert await ContactService(db_pool, survivor).gate(job, campaign, datetime.now().astimezone()) is None
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT state, reason FROM call_jobs WHERE id = %s", (job_id,))
        assert await cur.fetchone() == ("done", "reached")


async def test_a_lost_lease_cannot_be_written_by_its_old_owner(db_pool, company):
    campaign = await _enqueue(db_pool, company, 1)
    slow = CallQueue(db_pool, "slow", lease_s=0.2)
    (job,) = await slow.claim(campaign.trunk, cap=1, limit=1)
    await asyncio.sleep(0.4)
    fast = CallQueue(db_pool, "fast")
    assert job.id in await fast.reap_expired()
    assert [j.id for j in await fast.claim(campaign.trunk, cap=1, limit=1)] == [job.id]
    with pytest.raises(LeaseLost):
        await slow.extend(job.id)
    with pytest.raises(LeaseLost):
        await ContactService(db_pool, slow).settle(job, campaign, CallOutcome.NO_ANSWER, 0,
                                                   datetime.now().astimezone())


def _dialer(queue: CallQueue, campaign) -> CampaignDialer:
    """The dialer's lease keeping, without Asterisk (only `_keep_lease` is exercised)."""
    return CampaignDialer(queue, ContactService(queue._pool, queue), None, None,  # type: ignore[arg-type]
                          trunk=campaign.trunk, channels=1, online=asyncio.Event())


async def test_a_call_whose_lease_is_taken_back_keeps_its_channel_until_it_ends(db_pool, company):
    campaign = await _enqueue(db_pool, company, 2)
    slow = CallQueue(db_pool, "slow", lease_s=0.3)
    (job,) = await slow.claim(campaign.trunk, cap=1, limit=1)
    attempt = uuid.uuid4()
    log = CallLog(db_pool)
    await log.open_attempt(attempt_id=attempt, direction=Direction.OUTBOUND, channel_id=f"t-{attempt}",
                           endpoint=f"PJSIP/+56911112222@{campaign.trunk}", job_id=job.id,
                           campaign_id=campaign.id, debtor_id=job.debtor_id)
    finished = asyncio.Event()
    keeping = asyncio.create_task(_dialer(slow, campaign)._keep_lease(job, finished))
    await asyncio.sleep(0.5)  # the database took the lease back (as if the extension had failed)
    async with db_pool.connection() as conn:
        await conn.execute("UPDATE call_jobs SET lease_expires_at = now() - interval '1 second' WHERE id = %s",
                           (job.id,))
    fast = CallQueue(db_pool, "fast")
    assert job.id in await fast.reap_expired()
    await asyncio.sleep(0.3)
    # The call is still up: its task still holds the channel, and no dialer may take the trunk's
    # only channel for the other debtor.
    assert not keeping.done()
    assert await fast.claim(campaign.trunk, cap=1, limit=5) == []
    finished.set()
    await asyncio.wait_for(keeping, 1)
    await log.close_attempt(attempt, outcome=CallOutcome.NO_ANSWER, hangup_cause=None, hangup_cause_txt=None)
    assert len(await fast.claim(campaign.trunk, cap=1, limit=5)) == 1


async def test_a_database_outage_while_a_call_is_up_does_not_end_the_call_task(database_url, db_pool, company):
    campaign = await _enqueue(db_pool, company, 1)
    pool = AsyncConnectionPool(database_url, min_size=1, max_size=1, open=False)
    await pool.open()
    queue = CallQueue(pool, "cut-off", lease_s=0.15)
    (job,) = await queue.claim(campaign.trunk, cap=1, limit=1)
    await pool.close()  # every extension now fails with an OperationalError
    finished = asyncio.Event()
    keeping = asyncio.create_task(_dialer(queue, campaign)._keep_lease(job, finished))
    await asyncio.sleep(0.4)
    assert not keeping.done()  # retried, not given up: the call's channel stays counted here
    finished.set()
    await asyncio.wait_for(keeping, 1)
