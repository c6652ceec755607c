"""The agent's tools on a real PostgreSQL, through a call's whole life: gate, answer, tool, settle."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest

from campaigns.actions import ActionRefused, CallActions, CallContext
from campaigns.calls import CallLog, CallOutcome, Direction
from campaigns.contacts import ContactService
from tests.campaigns.conftest import seed_debtors
from tests.campaigns.test_contacts import Desk, _now


async def _answered_call(desk: Desk):
    """Claim, gate and answer a call: (job, context); the test then runs tools and settles."""
    job = await desk.claim()
    target, attempt = await desk.dial(job)
    await CallLog(desk.pool).mark_answered(attempt)
    ctx = CallContext(attempt, desk.debtor_id, desk.campaign.id, job.id, target.phone_id)
    return job, ctx


async def _hang_up(desk: Desk, job, ctx):
    await CallLog(desk.pool).close_attempt(ctx.attempt_id, outcome=CallOutcome.ANSWERED, hangup_cause=16,
                                           hangup_cause_txt=None)
    return await desk.contacts.settle(job, desk.campaign, CallOutcome.ANSWERED, ctx.phone_id, _now(),
                                      attempt_id=ctx.attempt_id)


async def _events(pool, attempt_id):
    return [e.kind for e in await CallLog(pool).events(attempt_id)]


async def test_a_promise_is_stored_and_ends_the_job(db_pool, company):
    desk = await Desk.open(db_pool, company)
    async with db_pool.connection() as conn:
        await conn.execute("UPDATE debtors SET amount_owed = 185000, max_date = %s WHERE id = %s",
                           (date.today() + timedelta(days=30), desk.debtor_id))
    await desk.wave()
    job, ctx = await _answered_call(desk)
    actions = CallActions(db_pool)
    pay_on = date.today() + timedelta(days=10)
    with pytest.raises(ActionRefused) as refused:
        await actions.register_promise(ctx, promised_date=date.today() + timedelta(days=40), amount=50000,
                                       today=date.today())
    assert refused.value.code == "date_after_max"
    with pytest.raises(ActionRefused, match="amount_over_debt"):
        await actions.register_promise(ctx, promised_date=pay_on, amount=200000, today=date.today())
    await actions.register_promise(ctx, promised_date=pay_on, amount=104050, today=date.today())
    decision = await _hang_up(desk, job, ctx)
    assert decision.reason == "promise"
    assert await desk.job_row() == ("done", "promise", 1)
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT promised_date, amount, status FROM promises WHERE debtor_id = %s",
                                 (desk.debtor_id,))
        assert await cur.fetchall() == [(pay_on, Decimal("104050.00"), "open")]
    assert "promise_registered" in await _events(db_pool, ctx.attempt_id)


async def test_a_plan_is_stored_with_its_count_its_instalment_and_what_it_covers(db_pool, company):
    desk = await Desk.open(db_pool, company)
    async with db_pool.connection() as conn:
        await conn.execute("UPDATE debtors SET amount_owed = 200000, max_date = %s WHERE id = %s",
                           (date.today() + timedelta(days=30), desk.debtor_id))
    await desk.wave()
    _job, ctx = await _answered_call(desk)
    actions = CallActions(db_pool)
    first = date.today() + timedelta(days=5)
    with pytest.raises(ActionRefused, match="installments"):
        await actions.register_promise(ctx, promised_date=first, amount=200000, today=date.today(),
                                       installment_amount=66667)
    # 3 x 66667 is a peso over the balance: `amount` is what the plan covers, never the instalments summed.
    await actions.register_promise(ctx, promised_date=first, amount=200000, today=date.today(), installments=3,
                                   installment_amount=66667)
    await actions.register_promise(ctx, promised_date=first, amount=180000, today=date.today(), discount_percent=10)
    async with db_pool.connection() as conn:
        cur = await conn.execute(
            """SELECT promised_date, amount, installments, installment_amount, discount_percent FROM promises
                WHERE debtor_id = %s ORDER BY id""", (desk.debtor_id,))
        assert await cur.fetchall() == [(first, Decimal("200000.00"), 3, Decimal("66667.00"), None),
                                        (first, Decimal("180000.00"), None, None, Decimal("10.00"))]


async def test_a_callback_is_booked_inside_the_legal_window_and_the_job_waits_for_it(db_pool, company):
    desk = await Desk.open(db_pool, company)  # Regulation F: 08:00-21:00 every day, in the debtor's zone
    await desk.wave()
    job, ctx = await _answered_call(desk)
    tz = desk.campaign.tz
    late_evening = datetime.combine(_now().astimezone(tz).date() + timedelta(days=2), time(22, 30), tz)
    booked = await CallActions(db_pool).schedule_callback(ctx, late_evening, "está manejando")
    assert booked == datetime.combine(late_evening.date() + timedelta(days=1), time(8), tz)
    decision = await _hang_up(desk, job, ctx)
    assert (decision.reason, decision.not_before) == ("callback_requested", booked)
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT state, next_at, callback_at FROM call_jobs WHERE id = %s", (job.id,))
        assert await cur.fetchone() == ("queued", booked, booked)
    assert "callback_scheduled" in await _events(db_pool, ctx.attempt_id)


async def test_a_wrong_number_moves_on_to_the_next_phone_and_is_no_contact(db_pool, company):
    desk = await Desk.open(db_pool, company)
    await desk.wave()
    job, ctx = await _answered_call(desk)
    await CallActions(db_pool).wrong_number(ctx)
    decision = await _hang_up(desk, job, ctx)
    assert decision.reason == "retry_delay_failure"  # not a conversation: no weekly contact limit
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT status FROM phones WHERE id = %s", (ctx.phone_id,))
        assert await cur.fetchone() == ("wrong_number",)
    job = await desk.claim(make_due=True)
    target = await desk.contacts.gate(job, desk.campaign, _now())
    assert target is not None and target.phone_id != ctx.phone_id


async def test_stop_calling_me_during_the_call(db_pool, company):
    desk = await Desk.open(db_pool, company)
    await desk.wave()
    job, ctx = await _answered_call(desk)
    await CallActions(db_pool).stop_calling(ctx)
    await _hang_up(desk, job, ctx)
    assert await desk.job_row() == ("done", "stop_calling", 1)
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT exclusion_reason FROM debtors WHERE id = %s", (desk.debtor_id,))
        assert await cur.fetchone() == ("asked_not_to_be_called",)


async def test_stop_calling_is_stored_whole_or_not_at_all(db_pool, company):
    """The result and the exclusion are one transaction: when excluding fails (here a trigger refuses it,
    as a lost connection would), no "stop_calling" result is left behind with the debtor still callable."""
    desk = await Desk.open(db_pool, company)
    await desk.wave()
    _job, ctx = await _answered_call(desk)
    async with db_pool.connection() as conn:
        await conn.execute("""CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
                              $$ BEGIN RAISE EXCEPTION 'exclusion refused'; END $$""")
        await conn.execute("CREATE TRIGGER refuse BEFORE UPDATE ON debtors FOR EACH ROW EXECUTE FUNCTION refuse()")
    try:
        with pytest.raises(Exception, match="exclusion refused"):
            await CallActions(db_pool).stop_calling(ctx)
    finally:
        async with db_pool.connection() as conn:
            await conn.execute("DROP TRIGGER refuse ON debtors")
            await conn.execute("DROP FUNCTION refuse()")
    assert "stop_calling_requested" not in await _events(db_pool, ctx.attempt_id)
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT result FROM call_attempts WHERE id = %s", (ctx.attempt_id,))
        assert (await cur.fetchone())[0] != "stop_calling"
    await CallActions(db_pool).stop_calling(ctx)  # tried again, it takes both
    assert "stop_calling_requested" in await _events(db_pool, ctx.attempt_id)


async def test_an_unidentified_caller_gets_no_debt_action(db_pool):
    ctx = CallContext(uuid.uuid4())
    with pytest.raises(ActionRefused, match="unidentified"):
        await CallActions(db_pool).register_promise(ctx, promised_date=date.today(), amount=1, today=date.today())


async def test_a_callback_asked_for_on_an_inbound_call_goes_to_the_debtors_campaign(db_pool, company):
    desk = await Desk.open(db_pool, company)
    await desk.wave()
    job, ctx = await _answered_call(desk)
    await CallActions(db_pool).wrong_number(ctx)  # that campaign call ends, its job waits for a retry
    await _hang_up(desk, job, ctx)
    inbound = uuid.uuid4()
    await CallLog(db_pool).open_attempt(attempt_id=inbound, direction=Direction.INBOUND, channel_id=f"in-{inbound}")
    when = _now() + timedelta(days=2)
    booked = await CallActions(db_pool).schedule_callback(CallContext(inbound, desk.debtor_id), when, "inbound")
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT state, reason, next_at, callback_at FROM call_jobs WHERE debtor_id = %s",
                                 (desk.debtor_id,))
        assert await cur.fetchall() == [("queued", "callback_requested", booked, booked)]  # moved, not doubled
        await conn.execute("UPDATE call_jobs SET state = 'done' WHERE debtor_id = %s", (desk.debtor_id,))
    again = await CallActions(db_pool).schedule_callback(CallContext(inbound, desk.debtor_id), when, "inbound")
    async with db_pool.connection() as conn:  # no job queued any more: a new one carries the callback
        cur = await conn.execute("SELECT state, next_at, trunk FROM call_jobs WHERE debtor_id = %s AND state = "
                                 "'queued'", (desk.debtor_id,))
        assert await cur.fetchall() == [("queued", again, desk.campaign.trunk)]
    with pytest.raises(ActionRefused, match="no_campaign"):
        stranger = await seed_debtors(db_pool, f"{company} b", 1)
        await CallActions(db_pool).schedule_callback(CallContext(inbound, stranger[0]), when)


async def test_a_lost_dialers_answered_call_counts_as_reached_unless_its_result_keeps_the_job(db_pool, company):
    """What the gate asks of a job back from an expired lease: did a call of it reach the debtor?"""
    desk = await Desk.open(db_pool, company)
    await desk.wave()
    job, ctx = await _answered_call(desk)
    for result, reached in ((None, True), ("wrong_number", False), ("callback", False), ("promise", True),
                            ("transfer", True)):
        async with db_pool.connection() as conn:
            await conn.execute("UPDATE call_attempts SET result = %s WHERE id = %s", (result, ctx.attempt_id))
            assert await ContactService._reached_before(conn, job) is reached, result
