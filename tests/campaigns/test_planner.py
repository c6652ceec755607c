"""Waves on a real PostgreSQL: quotas, reasons for holding people back, and no double wave."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from campaigns.calls import CallLog, CallOutcome, Direction
from campaigns.campaign import CampaignStore
from campaigns.planner import WavePlanner
from campaigns.scheduler import WaveScheduler
from tests.campaigns.conftest import make_campaign, seed_debtors

SANTIAGO = ZoneInfo("America/Santiago")
MONDAY_0940 = datetime(2026, 11, 23, 9, 40, tzinfo=SANTIAGO)


async def _count_waves(db_pool, campaign_id: int) -> list[tuple[str, int]]:
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT slot, enqueued FROM waves WHERE campaign_id = %s ORDER BY id",
                                 (campaign_id,))
        return await cur.fetchall()


async def _jobs(db_pool, campaign_id: int) -> int:
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM call_jobs WHERE campaign_id = %s", (campaign_id,))
        return (await cur.fetchone())[0]


async def test_daily_quota_spans_the_days_waves(db_pool, company):
    campaign = await make_campaign(db_pool, company, timezone="America/Santiago", profiles=("CL",),
                                   debtors_per_day=60)
    await seed_debtors(db_pool, company, 100)
    planner = WavePlanner(db_pool)
    first = await planner.plan(campaign, MONDAY_0940.replace(hour=9, minute=0), slot="09:00")
    assert first.enqueued == 60
    assert first.skipped == {"daily_debtor_quota": 40}
    second = await planner.plan(campaign, MONDAY_0940.replace(hour=12, minute=0), slot="12:00")
    assert second.enqueued == 0  # the 60 of the day are all taken (their jobs are live today)
    assert second.skipped["already_in_queue_or_reached_today"] == 60
    tomorrow = await planner.plan(campaign, MONDAY_0940 + timedelta(days=1), slot="09:00")
    assert tomorrow.enqueued == 0  # yesterday's 60 are still queued: they are today's work


async def test_carried_over_jobs_worked_today_count_in_the_days_quota(db_pool, company):
    # Yesterday's two jobs were worked this morning: one reached and settled, one called without an
    # answer and deferred to tomorrow. With a quota of two a day, the next wave adds nobody.
    campaign = await make_campaign(db_pool, company, debtors_per_day=2)
    first, second, *_ = await seed_debtors(db_pool, company, 4, timezone=campaign.timezone)
    planner = WavePlanner(db_pool)
    now = datetime.now(ZoneInfo(campaign.timezone))
    assert (await planner.plan(campaign, now, slot="09:00")).enqueued == 2
    async with db_pool.connection() as conn:
        await conn.execute("UPDATE call_jobs SET created_at = created_at - interval '1 day', "
                           "next_at = next_at - interval '1 day' WHERE campaign_id = %s", (campaign.id,))
        await conn.execute("UPDATE call_jobs SET state = 'done', reason = 'reached', updated_at = now() "
                           "WHERE campaign_id = %s AND debtor_id = %s", (campaign.id, first))
        await conn.execute("UPDATE call_jobs SET next_at = now() + interval '1 day', updated_at = now() "
                           "WHERE campaign_id = %s AND debtor_id = %s", (campaign.id, second))
    attempt = uuid.uuid4()
    await CallLog(db_pool).open_attempt(attempt_id=attempt, direction=Direction.OUTBOUND,
                                        channel_id=f"t-{attempt}", campaign_id=campaign.id, debtor_id=second)
    later = await planner.plan(campaign, now, slot="12:00")
    assert later.enqueued == 0 and later.skipped.get("daily_debtor_quota") == 2, later

async def test_each_reason_for_holding_a_debtor_back_is_counted(db_pool, company):
    campaign = await make_campaign(db_pool, company, timezone="America/Santiago", profiles=("CL",))
    ids = await seed_debtors(db_pool, company, 5)
    now = MONDAY_0940
    log = CallLog(db_pool)
    async with db_pool.connection() as conn:
        await conn.execute("UPDATE debtors SET excluded_at = now(), exclusion_reason = 'asked_not_to_be_called' "
                           "WHERE id = %s", (ids[0],))
        await conn.execute("INSERT INTO do_not_call (e164, reason) SELECT e164, 'registry' FROM phones "
                           "WHERE debtor_id = %s", (ids[1],))
    # ids[2]: three calls today already; ids[3]: a conversation three days ago (Chile: one a week).
    for debtor, hours_ago, outcome in [(ids[2], 0.1, CallOutcome.NO_ANSWER), (ids[2], 0.2, CallOutcome.BUSY),
                                       (ids[2], 0.3, CallOutcome.NO_ANSWER), (ids[3], 72, CallOutcome.ANSWERED)]:
        attempt = uuid.uuid4()
        await log.open_attempt(attempt_id=attempt, direction=Direction.OUTBOUND, channel_id=f"t-{attempt}",
                               debtor_id=debtor)
        await log.close_attempt(attempt, outcome=outcome, hangup_cause=None, hangup_cause_txt=None)
        async with db_pool.connection() as conn:
            await conn.execute("UPDATE call_attempts SET created_at = %s WHERE id = %s",
                               (now - timedelta(hours=hours_ago), attempt))
    result = await WavePlanner(db_pool).plan(campaign, now, slot="09:00")
    assert result.enqueued == 1
    assert result.skipped == {"excluded": 1, "no_callable_phone": 1, "daily_call_limit": 1,
                              "weekly_contact_limit": 1}


async def test_no_wave_on_a_holiday_and_the_reason_is_kept(db_pool, company):
    campaign = await make_campaign(db_pool, company, timezone="America/Santiago", profiles=("CL",))
    await seed_debtors(db_pool, company, 3)
    christmas = datetime(2026, 12, 25, 9, tzinfo=SANTIAGO)
    result = await WavePlanner(db_pool).plan(campaign, christmas, slot="09:00")
    assert result.enqueued == 0 and list(result.skipped) == ["holiday: Navidad (CL)"]


async def test_selection_by_delinquency_type(db_pool, company):
    campaign = await make_campaign(db_pool, company, timezone="America/Santiago", profiles=("CL",))
    async with db_pool.connection() as conn:
        await conn.execute("UPDATE campaigns SET selection = '{\"delinquency_types\": [\"prejudicial\"]}' "
                           "WHERE id = %s", (campaign.id,))
    await seed_debtors(db_pool, company, 4, delinquency_type="temprana")
    await seed_debtors(db_pool, company, 2, delinquency_type="prejudicial")
    campaign = await CampaignStore(db_pool).get(campaign.id)
    result = await WavePlanner(db_pool).plan(campaign, MONDAY_0940, slot="09:00")
    assert result.enqueued == 2


async def test_a_restart_after_a_missed_nine_oclock_wave_runs_it_once(db_pool, company):
    campaign = await make_campaign(db_pool, company, timezone="America/Santiago", profiles=("CL",))
    await seed_debtors(db_pool, company, 10)
    store, planner = CampaignStore(db_pool), WavePlanner(db_pool)

    # The process was down at 09:00 and comes back at 09:40: the missed wave runs now...
    first = WaveScheduler(store, planner, clock=lambda: MONDAY_0940)
    assert (await first.catch_up(campaign, MONDAY_0940)).enqueued == 10
    # ...and a second restart at 09:50, or two processes starting at once, do not run it again.
    later = MONDAY_0940 + timedelta(minutes=10)
    twins = [WaveScheduler(store, planner, clock=lambda: later) for _ in range(2)]
    again = await asyncio.gather(*(s.catch_up(campaign, later) for s in twins))
    assert all(r.already_planned for r in again)
    assert await _count_waves(db_pool, campaign.id) == [("09:00", 10)]
    assert await _jobs(db_pool, campaign.id) == 10

    # A restart after the grace has passed waits for the next wave instead of running a stale one.
    other = await make_campaign(db_pool, company, timezone="America/Santiago", profiles=("CL",))
    assert await WaveScheduler(store, planner).catch_up(other, MONDAY_0940 + timedelta(hours=2, minutes=5)) is None


async def test_apscheduler_fires_a_wave_once_in_the_campaigns_timezone(db_pool, company):
    soon = (datetime.now(SANTIAGO) + timedelta(seconds=2)).replace(microsecond=0)
    campaign = await make_campaign(db_pool, company, timezone="America/Santiago", profiles=("US",),
                                   waves=(soon.time(),))
    await seed_debtors(db_pool, company, 3, timezone="America/Santiago")
    fired = asyncio.Event()

    def on_wave(result):  # other tests' campaigns share this database and may catch up too
        if result.campaign_id == campaign.id:
            fired.set()

    async with WaveScheduler(CampaignStore(db_pool), WavePlanner(db_pool), on_wave=on_wave) as sched:
        await sched.load()
        (job,) = [j for j in sched.scheduler.get_jobs() if j.id.startswith(f"wave-{campaign.id}-")]
        assert str(job.trigger.timezone) == "America/Santiago"
        assert (job.coalesce, job.misfire_grace_time) == (True, 7200)
        await asyncio.wait_for(fired.wait(), 10)
        # The catch-up of a restart right after the trigger fired finds the wave already planned.
        assert (await sched.catch_up(campaign, datetime.now(SANTIAGO))).already_planned
    slots = await _count_waves(db_pool, campaign.id)
    assert len(slots) == 1 and slots[0][0] == soon.strftime("%H:%M")
