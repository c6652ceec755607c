"""After the conversation, on a real PostgreSQL: an open promise holds the calls, a broken one becomes
one reminder call, a kept one none, and "already paid" and disputes wait until a person closes the
follow-up; in the wave planner's SQL and again at the dialer's gate."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import date, datetime, timedelta

import pytest

from analysis.store import AnalysisStore
from campaigns.calls import CallLog, CallOutcome, Direction
from campaigns.campaign import CampaignStore
from campaigns.cli import CliError, build_parser, run
from campaigns.holds import PromiseError, mark_promise
from campaigns.planner import WavePlanner
from campaigns.queue import JobPurpose
from campaigns.report import explain
from tests.campaigns.conftest import make_campaign, seed_debtors
from tests.campaigns.test_contacts import Desk, _now
from tests.campaigns.test_planner import MONDAY_0940

MONDAY = MONDAY_0940.date()  # 2026-11-23; the week to Friday 27 has no Chilean holiday


def _at(day: date) -> datetime:
    return datetime.combine(day, MONDAY_0940.timetz())


async def _promise(pool, debtor_id: int, promised: date, *, installments: int | None = None) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(
            """INSERT INTO promises (debtor_id, promised_date, amount, installments) VALUES (%s, %s, 50000, %s)
               RETURNING id""", (debtor_id, promised, installments))
        return (await cur.fetchone())[0]


async def _conversation(pool, debtor_id: int, result: str, *, at: datetime | None = None) -> uuid.UUID:
    """An answered call that ended on `result` (its analysis queued, as closing an answered call does)."""
    attempt = uuid.uuid4()
    log = CallLog(pool)
    await log.open_attempt(attempt_id=attempt, direction=Direction.OUTBOUND, channel_id=f"t-{attempt}",
                           debtor_id=debtor_id)
    await log.mark_answered(attempt)
    async with pool.connection() as conn:
        await conn.execute("UPDATE call_attempts SET result = %s WHERE id = %s", (result, attempt))
    await log.close_attempt(attempt, outcome=CallOutcome.ANSWERED, hangup_cause=16, hangup_cause_txt=None)
    if at is not None:
        async with pool.connection() as conn:
            await conn.execute("UPDATE call_attempts SET created_at = %s WHERE id = %s", (at, attempt))
    return attempt


async def _jobs(pool, debtor_id: int) -> list[tuple]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT campaign_id, state, purpose, promise_id, reason FROM call_jobs "
                                 "WHERE debtor_id = %s ORDER BY id", (debtor_id,))
        return await cur.fetchall()


async def _promise_status(pool, promise_id: int) -> tuple:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT status, settled_by FROM promises WHERE id = %s", (promise_id,))
        return await cur.fetchone()


async def _skipped(pool, wave_id: int) -> dict:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT skipped FROM waves WHERE id = %s", (wave_id,))
        return (await cur.fetchone())[0]


async def _national_id(pool, debtor_id: int) -> str:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT national_id FROM debtors WHERE id = %s", (debtor_id,))
        return (await cur.fetchone())[0]


@pytest.mark.parametrize("grace", [0, 1, 3])
async def test_an_open_promise_holds_every_wave_through_its_date_and_grace_then_one_reminder(db_pool, company, grace):
    campaign = await make_campaign(db_pool, company, timezone="America/Santiago", profiles=("CL",),
                                   promise_grace_days=grace)
    debtor, plan_debtor = await seed_debtors(db_pool, company, 2)
    promise = await _promise(db_pool, debtor, MONDAY)
    # An instalment plan holds until its first date (and the grace): here a week later.
    plan = await _promise(db_pool, plan_debtor, MONDAY + timedelta(days=7), installments=3)
    planner = WavePlanner(db_pool)
    last_held = MONDAY + timedelta(days=grace)
    for day in sorted({MONDAY, last_held}):
        for slot in ("09:00", "15:00"):
            held = await planner.plan(campaign, _at(day).replace(hour=int(slot[:2])), slot=slot)
            assert (held.enqueued, held.reminders) == (0, 0), (day, slot, held)
            assert held.skipped == {"open_promise": 2}
            assert await _skipped(db_pool, held.wave_id) == {"open_promise": 2}
    assert await _jobs(db_pool, debtor) == []

    reminded = await planner.plan(campaign, _at(last_held + timedelta(days=1)), slot="09:00")
    assert (reminded.enqueued, reminded.reminders) == (1, 1)
    assert reminded.skipped == {"open_promise": 1}  # the instalment plan's first date is still ahead
    assert await _jobs(db_pool, debtor) == [(campaign.id, "queued", "promise_reminder", promise, None)]
    assert await _promise_status(db_pool, promise) == ("broken", "planner")
    assert await _promise_status(db_pool, plan) == ("open", "")
    # The next wave finds the reminder in the queue and does not remind again.
    again = await planner.plan(campaign, _at(last_held + timedelta(days=1)).replace(hour=12), slot="12:00")
    assert again.reminders == 0 and again.skipped == {"open_promise": 1, "already_in_queue_or_reached_today": 1}


async def test_two_planners_at_once_queue_one_reminder_and_break_the_promise_once(db_pool, company):
    # Three campaigns select the same debtor; their waves run at the same moment.
    campaigns = [await make_campaign(db_pool, company, timezone="America/Santiago", profiles=("CL",))
                 for _ in range(3)]
    (debtor,) = await seed_debtors(db_pool, company, 1)
    promise = await _promise(db_pool, debtor, MONDAY - timedelta(days=5))
    results = await asyncio.gather(*(WavePlanner(db_pool).plan(c, MONDAY_0940, slot="09:00") for c in campaigns))
    assert sum(r.reminders for r in results) == 1
    reminders = [j for j in await _jobs(db_pool, debtor) if j[2] == "promise_reminder"]
    assert len(reminders) == 1 and reminders[0][3] == promise
    assert await _promise_status(db_pool, promise) == ("broken", "planner")

    # The index is what makes it one: a planner whose reminder insert waits on another's uncommitted one
    # inserts nothing once that commits, and so marks nothing.
    other = await _promise(db_pool, debtor, MONDAY - timedelta(days=4))
    first, late = [await make_campaign(db_pool, company, timezone="America/Santiago", profiles=("CL",))
                   for _ in range(2)]
    async with db_pool.connection() as conn, conn.transaction():
        await conn.execute("INSERT INTO call_jobs (campaign_id, debtor_id, trunk, next_at, purpose, promise_id) "
                           "VALUES (%s, %s, 't', now(), 'promise_reminder', %s)", (first.id, debtor, other))
        racing = asyncio.create_task(WavePlanner(db_pool).plan(late, MONDAY_0940, slot="09:00"))
        await asyncio.sleep(0.5)
        assert not racing.done()  # waiting on the uncommitted reminder
    assert (await racing).reminders == 0
    assert await _promise_status(db_pool, other) == ("open", "")


async def test_a_kept_promise_is_never_reminded(db_pool, company):
    campaign = await make_campaign(db_pool, company, timezone="America/Santiago", profiles=("CL",))
    kept_early, kept_late = await seed_debtors(db_pool, company, 2)
    early = await _promise(db_pool, kept_early, MONDAY - timedelta(days=5))
    late = await _promise(db_pool, kept_late, MONDAY - timedelta(days=5))
    marked = await mark_promise(db_pool, early, "kept", by="ana")
    assert (marked.previous_status, marked.promise.status, marked.reminders_cancelled) == ("open", "kept", 0)

    wave = await WavePlanner(db_pool).plan(campaign, MONDAY_0940, slot="09:00")
    assert wave.reminders == 1  # only the promise nobody marked
    assert [j[2] for j in await _jobs(db_pool, kept_early)] == ["collection"]  # no hold left, no reminder
    assert await _promise_status(db_pool, early) == ("kept", "ana")

    # The payment of the other one shows up after its reminder was queued: the reminder is cancelled.
    marked = await mark_promise(db_pool, late, "kept")
    assert (marked.previous_status, marked.reminders_cancelled) == ("broken", 1)
    assert await _jobs(db_pool, kept_late) == [(campaign.id, "cancelled", "promise_reminder", late, "promise_kept")]
    with pytest.raises(PromiseError, match="is kept: it cannot be marked broken"):
        await mark_promise(db_pool, late, "broken")


async def test_a_job_queued_before_the_promise_is_held_at_dial_time_then_reminds(db_pool, company):
    desk = await Desk.open(db_pool, company)
    assert (await desk.wave()).enqueued == 1
    today = _now().astimezone(desk.campaign.tz).date()
    promise = await _promise(db_pool, desk.debtor_id, today + timedelta(days=3))  # on another call, say
    assert await desk.contacts.gate(await desk.claim(), desk.campaign, _now()) is None
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT decision, reason, detail->>'not_before' FROM contact_decisions "
                                 "WHERE debtor_id = %s ORDER BY id DESC LIMIT 1", (desk.debtor_id,))
        decision, reason, until = await cur.fetchone()
    assert (decision, reason) == ("held", "open_promise")
    # Held through the date and the day of grace: free from the start of the day after.
    assert datetime.fromisoformat(until).date() >= today + timedelta(days=5)
    assert await _jobs(db_pool, desk.debtor_id) == [(desk.campaign.id, "cancelled", "collection", None,
                                                     "open_promise")]
    assert (await desk.wave("later")).skipped == {"open_promise": 1}
    why = "\n".join(await explain(db_pool, await _national_id(db_pool, desk.debtor_id), country="US"))
    assert "held: open_promise until" in why and "policy now: held back: open_promise until" in why
    assert f"promise #{promise} open" in why

    async with db_pool.connection() as conn:  # the date and the grace have passed, unpaid
        await conn.execute("UPDATE promises SET promised_date = %s WHERE id = %s", (today - timedelta(days=2), promise))
    assert (await desk.wave("after the grace")).reminders == 1
    job = await desk.claim()
    assert (job.purpose, job.promise_id) == (JobPurpose.PROMISE_REMINDER, promise)
    assert await desk.contacts.gate(job, desk.campaign, _now()) is not None  # the reminder is dialed


async def test_a_reminder_for_a_promise_kept_meanwhile_is_not_dialed(db_pool, company):
    desk = await Desk.open(db_pool, company)
    today = _now().astimezone(desk.campaign.tz).date()
    promise = await _promise(db_pool, desk.debtor_id, today - timedelta(days=3))
    assert (await desk.wave()).reminders == 1
    job = await desk.claim()  # the dialer holds it when the payment is confirmed
    async with db_pool.connection() as conn:
        await conn.execute("UPDATE promises SET status = 'kept' WHERE id = %s", (promise,))
    assert await desk.contacts.gate(job, desk.campaign, _now()) is None
    assert await desk.job_row() == ("cancelled", "promise_kept", 0)


@pytest.mark.parametrize("result", ["already_paid", "dispute"])
async def test_already_paid_and_dispute_wait_until_a_person_closes_the_followup(db_pool, company, result):
    campaign = await make_campaign(db_pool, company, timezone="America/Santiago", profiles=("CL",))
    debtor, other = await seed_debtors(db_pool, company, 2)
    # Eight days ago: past Chile's one conversation a week, so only the follow-up can hold them.
    attempt = await _conversation(db_pool, debtor, result, at=MONDAY_0940 - timedelta(days=8))
    await _conversation(db_pool, other, "refused", at=MONDAY_0940 - timedelta(days=8))
    planner = WavePlanner(db_pool)
    for days in range(3):  # the analysis pending, then done and waiting in the queue: held all along
        wave = await planner.plan(campaign, MONDAY_0940 + timedelta(days=days), slot="09:00")
        assert wave.skipped.get("waiting_for_human") == 1, wave
        assert await _skipped(db_pool, wave.wave_id) == wave.skipped
        if days == 0:
            async with db_pool.connection() as conn:  # the analyzer found it needs a person
                await conn.execute("UPDATE call_analyses SET status = 'done', needs_human = true, "
                                   "analyzed_at = now() WHERE attempt_id = %s", (attempt,))
    assert [j[0] for j in await _jobs(db_pool, debtor)] == []
    why = "\n".join(await explain(db_pool, await _national_id(db_pool, debtor), country="US"))
    assert "held back: waiting_for_human: the call of" in why and f"ended {result}" in why

    await AnalysisStore(db_pool).close(attempt, outcome="payment verified", by="ana")
    released = await planner.plan(campaign, MONDAY_0940 + timedelta(days=3), slot="09:00")
    assert "waiting_for_human" not in released.skipped
    assert [j[2] for j in await _jobs(db_pool, debtor)] == ["collection"]


async def test_a_job_queued_before_the_dispute_is_held_at_dial_time(db_pool, company):
    desk = await Desk.open(db_pool, company)
    await desk.wave()
    await _conversation(db_pool, desk.debtor_id, "dispute")  # an inbound call, or another campaign's
    assert await desk.contacts.gate(await desk.claim(), desk.campaign, _now()) is None
    assert await desk.job_row() == ("cancelled", "waiting_for_human", 0)
    assert (await desk.wave("later")).skipped == {"waiting_for_human": 1}
    # Calls since that someone else answered (a wrong number, a relative) say nothing of the debtor: still waiting.
    await _conversation(db_pool, desk.debtor_id, "wrong_number")
    await _conversation(db_pool, desk.debtor_id, "third_party")
    assert (await desk.wave("later still")).skipped == {"waiting_for_human": 1}
    # The debtor's own later conversation (they called back and promised) is their last word.
    await _conversation(db_pool, desk.debtor_id, "promise")
    assert "waiting_for_human" not in (await desk.wave("after they called back")).skipped


async def _cli(pool, *argv: str) -> str:
    out = io.StringIO()
    assert await run(build_parser().parse_args(list(argv)), pool, out) == 0
    return out.getvalue()


async def test_the_grace_and_the_promise_commands_from_the_cli(db_pool, company):
    created = await _cli(db_pool, "create", f"{company} gracia", "--company", company, "--promise-grace-days", "3")
    assert "created" in created
    assert (await CampaignStore(db_pool).get(f"{company} gracia")).policy_config.promise_grace_days == 3

    (debtor,) = await seed_debtors(db_pool, company, 1)
    national_id = await _national_id(db_pool, debtor)
    first = await _promise(db_pool, debtor, MONDAY)
    second = await _promise(db_pool, debtor, MONDAY + timedelta(days=7), installments=3)
    with pytest.raises(CliError, match=f"several open promises \\(#{second}, #{first}\\)"):
        await _cli(db_pool, "promise-kept", national_id, "--country", "US")
    with pytest.raises(CliError, match="one of them"):
        await _cli(db_pool, "promise-kept")
    assert f"promise #{first} broken" in await _cli(db_pool, "promise-broken", "--id", str(first), "--by", "ana")
    kept = await _cli(db_pool, "promise-kept", national_id, "--country", "US")  # the one still open
    assert kept.startswith(f"promise #{second} kept (operator")
    assert "50000.00 in 3 instalments from" in kept and "(was open)" in kept
    # Nothing open any more: marking kept takes the latest broken one (a payment that came late).
    assert f"promise #{first} kept" in await _cli(db_pool, "promise-kept", national_id, "--country", "US")
    with pytest.raises(CliError, match="no promise that can be marked broken"):
        await _cli(db_pool, "promise-broken", national_id, "--country", "US")
    assert await _promise_status(db_pool, first) == ("kept", "operator")
