"""Every agent tool through the call's runner (`ari_app.calls.tools`) on a real PostgreSQL: the text the
agent reads back, the call's result, the event written, and how a refusal is recorded and logged."""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from agent.llm import ToolCall
from agent.vocabulary import Refusal
from ari_app.calls.tools import CallToolRunner
from campaigns.actions import CallActions, CallContext
from campaigns.calls import CallLog, Direction
from campaigns.payment_links import PaymentLinkSettings
from campaigns.webhooks import WebhookStore
from media.responder import ActionResult
from tests.campaigns.test_actions import _answered_call
from tests.campaigns.test_contacts import Desk


def _call(name: str, **arguments: object) -> ToolCall:
    return ToolCall("call-1", name, arguments)


async def _result_and_last_event(pool, attempt_id):
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT result FROM call_attempts WHERE id = %s", (attempt_id,))
        (result,) = await cur.fetchone()
    last = (await CallLog(pool).events(attempt_id))[-1]
    return result, last.kind, last.data


async def test_each_tool_reads_back_records_its_result_and_writes_its_event(db_pool, company, caplog):
    caplog.set_level(logging.INFO, logger="ari_app.calls.tools")
    desk = await Desk.open(db_pool, company)
    today = date.today()
    async with db_pool.connection() as conn:
        await conn.execute("UPDATE debtors SET amount_owed = 185000, max_date = %s WHERE id = %s",
                           (today + timedelta(days=30), desk.debtor_id))
    await desk.wave()
    _job, ctx = await _answered_call(desk)
    runner = CallToolRunner(CallActions(db_pool), ctx)
    now = datetime.combine(today, time(12), desk.campaign.tz)

    async def run(call, now):  # the text the agent reads back, once the result says it was done
        result = await runner.run(call, now)
        assert result.ok and (result.code, result.detail) == ("", ""), result
        return result.text

    pay_on = today + timedelta(days=10)
    said = await run(_call("register_promise", date=pay_on.isoformat(), amount=104050, installments=3), now)
    assert said.startswith("ok: promise ") and said.endswith(f" for {pay_on.isoformat()}")
    promise_id = int(said.split()[2])
    assert await _result_and_last_event(db_pool, ctx.attempt_id) == ("promise", "promise_registered", {
        "promise_id": promise_id, "date": pay_on.isoformat(), "amount": "104050", "installments": 3})

    when = datetime.combine(today + timedelta(days=2), time(11), desk.campaign.tz)
    assert await run(_call("schedule_callback", when=when.isoformat(), reason="manejando"), now) == \
        f"ok: callback booked for {when.isoformat()}"
    result, kind, data = await _result_and_last_event(db_pool, ctx.attempt_id)
    assert (result, kind, data["booked"], data["reason"]) == ("callback", "callback_scheduled", when.isoformat(),
                                                              "manejando")

    await PaymentLinkSettings(db_pool, WebhookStore(db_pool)).configure(
        company, gateway_url="https://gw.example.cl/wa", template="https://pagos.example.cl/{debtor_id}")
    assert await run(_call("send_payment_link"), now) == "ok"
    assert await _result_and_last_event(db_pool, ctx.attempt_id) == ("payment_link", "payment_link_requested",
                                                                      {"via": "WhatsApp"})

    assert await run(_call("transfer_to_agent", reason="wants a person"), now) == "ok"
    assert await _result_and_last_event(db_pool, ctx.attempt_id) == (
        "transfer", "transfer_requested", {"reason": "wants a person"})

    for outcome in ("already_paid", "refused", "dispute", "cannot_pay", "completed", "hung_up"):
        assert await run(_call("end_call", outcome=outcome), now) == "ok"
        assert await _result_and_last_event(db_pool, ctx.attempt_id) == (outcome, "call_result", {"outcome": outcome})
    assert await run(_call("end_call"), now) == "ok"  # no outcome: completed
    assert await _result_and_last_event(db_pool, ctx.attempt_id) == (
        "completed", "call_result", {"outcome": "completed"})

    assert await run(_call("report_wrong_number"), now) == "ok"
    assert await _result_and_last_event(db_pool, ctx.attempt_id) == (
        "wrong_number", "wrong_number", {"phone_id": ctx.phone_id})

    assert await run(_call("stop_calling"), now) == "ok"
    assert await _result_and_last_event(db_pool, ctx.attempt_id) == ("stop_calling", "stop_calling_requested", {})
    assert caplog.messages == []


async def test_refusals_and_bad_arguments_are_recorded_and_logged_never_raised(db_pool, company, caplog):
    caplog.set_level(logging.INFO, logger="ari_app.calls.tools")
    desk = await Desk.open(db_pool, company)
    today = date.today()
    max_date = today + timedelta(days=30)
    async with db_pool.connection() as conn:
        await conn.execute("UPDATE debtors SET amount_owed = 185000, max_date = %s WHERE id = %s",
                           (max_date, desk.debtor_id))
    await desk.wave()
    _job, ctx = await _answered_call(desk)
    runner = CallToolRunner(CallActions(db_pool), ctx)
    now = datetime.combine(today, time(12), desk.campaign.tz)
    assert (await runner.run(_call("end_call", outcome="already_paid"), now)).ok

    late = (today + timedelta(days=40)).isoformat()
    cases = [
        (_call("register_promise", date=late, amount=1000),
         f"date_after_max: the debt must be paid by {max_date}"),
        (_call("register_promise", date="15 de diciembre", amount=1000),
         ("register_promise: bad arguments {'date': '15 de diciembre', 'amount': 1000} "
          "(Invalid isoformat string: '15 de diciembre')")),
        (_call("schedule_callback", when="2026-11-30T10:00:00"), "schedule_callback: 'when' needs a timezone offset"),
        (_call("end_call", outcome="whatever"), "end_call: unknown outcome 'whatever'"),
        (_call("format_disk"), "unknown tool 'format_disk'"),
        (_call("send_payment_link"), "no_payment_channel: the debtor's company sends no payment links"),
    ]
    for call, reason in cases:
        result = await runner.run(call, now)
        assert (result.ok, result.text) == (False, f"refused: {reason}")
        assert await _result_and_last_event(db_pool, ctx.attempt_id) == (
            "already_paid", "tool_refused", {"tool": call.name, "reason": reason})  # the result stands
    assert caplog.messages == [f"tool {call.name} refused: {reason}" for call, reason in cases]
    # Typed, for the agent to answer without reading the text: the code, the particulars, the bound crossed.
    late_result = await runner.run(cases[0][0], now)
    assert (late_result.code, late_result.detail, late_result.limit) == (
        Refusal.DATE_AFTER_MAX, f"the debt must be paid by {max_date}", max_date.isoformat())
    over = await runner.run(_call("register_promise", date=today.isoformat(), amount=185001), now)
    assert (over.ok, over.code, int(Decimal(over.limit))) == (False, Refusal.AMOUNT_OVER_DEBT, 185000)
    bad = await runner.run(_call("format_disk"), now)
    assert (bad.code, bad.detail) == (Refusal.BAD_ARGUMENTS, "unknown tool 'format_disk'")
    # The system's own closings are recorded as the call's result.
    for outcome in ("no_agent_available", "not_understood"):
        assert (await runner.run(_call("end_call", outcome=outcome), now)).ok
        assert await _result_and_last_event(db_pool, ctx.attempt_id) == (outcome, "call_result", {"outcome": outcome})


async def test_a_caller_nobody_has_identified_gets_no_debt_action(db_pool, caplog):
    caplog.set_level(logging.INFO, logger="ari_app.calls.tools")
    inbound = uuid.uuid4()
    await CallLog(db_pool).open_attempt(attempt_id=inbound, direction=Direction.INBOUND, channel_id=f"in-{inbound}")
    runner = CallToolRunner(CallActions(db_pool), CallContext(inbound))
    reason = "unidentified: the caller has not been identified"
    for call in (_call("register_promise", date=date.today().isoformat(), amount=1000),
                 _call("schedule_callback", when=datetime.now().astimezone().isoformat()), _call("stop_calling")):
        result = await runner.run(call)
        assert (result.ok, result.text, result.code) == (False, f"refused: {reason}", Refusal.UNIDENTIFIED)
        assert await _result_and_last_event(db_pool, inbound) == (None, "tool_refused",
                                                                  {"tool": call.name, "reason": reason})
    # What needs no debtor is recorded on the call (a transfer asked for before identifying).
    assert await runner.run(_call("transfer_to_agent", reason="0 pressed")) == ActionResult.done("ok")
    assert await _result_and_last_event(db_pool, inbound) == ("transfer", "transfer_requested", {"reason": "0 pressed"})
    assert caplog.messages == [f"tool {n} refused: {reason}" for n in ("register_promise", "schedule_callback",
                                                                         "stop_calling")]
