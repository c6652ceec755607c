"""The rule engine against the real record (PostgreSQL, `campaigns.actions`) through the call's sink
(`CallParty.on_tool`): a promise the record refuses is never confirmed; the debtor hears why, with the
record's own maximum date, and the promise then made inside it is the one stored."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from agent.flow import DebtorFacts, load_flow, spoken_date
from agent.rule_agent import RuleAgent
from ari_app.calls.party import CallParty
from campaigns.actions import CallActions
from tests.campaigns.test_actions import _answered_call
from tests.campaigns.test_contacts import Desk


async def test_a_promise_the_record_refuses_is_explained_and_the_one_it_takes_is_stored(db_pool, company):
    desk = await Desk.open(db_pool, company)
    today = date.today()
    record_max = today + timedelta(days=10)
    async with db_pool.connection() as conn:
        await conn.execute("UPDATE debtors SET amount_owed = 185000, max_date = %s WHERE id = %s",
                           (record_max, desk.debtor_id))
    await desk.wave()
    _job, ctx = await _answered_call(desk)
    journal: list[tuple[str, dict]] = []
    party = CallParty(ctx, lambda kind, data: journal.append((kind, data)), actions=CallActions(db_pool),
                      debtors=None, conversations=None)
    # The card the agent was given allows a later date than the record now does.
    facts = DebtorFacts("Rosa Díaz", company, amount_owed=185000, installments_owed=2,
                        due_date=today - timedelta(days=20), max_date=today + timedelta(days=40))
    now = datetime.now().astimezone().replace(hour=11)
    agent = RuleAgent(load_flow("temprana"), facts, clock=lambda: now)
    agent.greeting()
    late = today + timedelta(days=20)

    async def turn(text: str) -> str:
        said = []
        async for item in agent.reply(text):
            if isinstance(item, str):
                said.append(item)
            else:  # carried out by the call before the agent goes on, as ReplyPlayer does
                item.result = await party.on_tool(item)
        return " ".join(said)

    await turn("Sí, soy yo")
    assert spoken_date(late) in await turn(f"Le pago todo el {late.day} de {_month(late)}")
    said = await turn("sí")
    assert "registrado" not in said and spoken_date(record_max) in said and not agent.finished
    assert ("tool_result", {"name": "register_promise",
                            "result": f"refused: date_after_max: the debt must be paid by {record_max}"}) in journal
    said = await turn("dale")  # the record's maximum, read back
    assert spoken_date(record_max) in said and "185000" in said
    said = await turn("sí")
    assert "quedó registrado" in said and agent.finished
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT promised_date, amount FROM promises WHERE attempt_id = %s", (ctx.attempt_id,))
        assert await cur.fetchall() == [(record_max, 185000)]
        cur = await conn.execute("SELECT result FROM call_attempts WHERE id = %s", (ctx.attempt_id,))
        assert await cur.fetchone() == ("promise",)


def _month(day: date) -> str:
    return ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
            "noviembre", "diciembre")[day.month - 1]
