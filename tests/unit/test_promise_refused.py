"""A promise the record refused is never confirmed: the rule engine explains why in plain words and
negotiates on, with the record's own bound. The record here is the agent side's stand-in
(`agent.dry_run`), which applies the bounds `campaigns.actions` applies; tests/campaigns runs the
same conversation against PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from agent.dry_run import DryRunRecord
from agent.flow import DebtorFacts, bundled_flows, load_flow, spoken_date
from agent.llm import ToolCall
from agent.prompts import PROMISE_NOT_REGISTERED, refusal_words
from agent.record_bounds import promise_refusal
from agent.rule_agent import RuleAgent
from agent.simulate import outcome_of
from agent.vocabulary import Refusal
from media.responder import ActionResult

NOW = datetime(2026, 11, 23, 10, tzinfo=ZoneInfo("America/Santiago"))  # a Monday
FACTS = DebtorFacts("María José Pérez", "Natura", amount_owed=185000, installments_owed=3,
                    due_date=date(2026, 10, 5), max_date=date(2026, 12, 31))


async def turn(agent, text, record):
    """One turn as the call's player runs it: each tool carried out before the agent goes on."""
    said, tools = [], []
    async for item in agent.reply(text):
        if isinstance(item, str):
            said.append(item)
        else:
            item.result = await record.run(item)
            tools.append(item)
    return " ".join(said), tools


async def test_a_promise_after_the_records_maximum_is_explained_and_renegotiated_not_confirmed():
    # The agent's card says 31 December; the record (the authority) now says 10 December.
    record = DryRunRecord(replace(FACTS, max_date=date(2026, 12, 10)), NOW)
    agent = RuleAgent(load_flow("temprana"), FACTS, clock=lambda: NOW)
    agent.greeting()
    await turn(agent, "Sí, soy yo", record)
    said, _ = await turn(agent, "le pago todo el quince de diciembre", record)
    assert spoken_date(date(2026, 12, 15)) in said  # read back: the card allowed it
    said, tools = await turn(agent, "sí", record)
    (promise,) = tools
    assert promise.result is not None and promise.result.code == Refusal.DATE_AFTER_MAX
    assert "registrado" not in said and "Muchas gracias" not in said
    assert "no pude registrar" in said and spoken_date(date(2026, 12, 10)) in said  # the record's maximum
    assert not agent.finished  # the negotiation goes on
    said, tools = await turn(agent, "dale", record)  # a yes takes the maximum, read back again
    assert not tools and spoken_date(date(2026, 12, 10)) in said and "185000" in said
    said, tools = await turn(agent, "sí", record)
    assert [(t.name, t.arguments, t.result.ok) for t in tools] == [
        ("register_promise", {"date": "2026-12-10", "amount": 185000}, True)]
    assert "quedó registrado" in said and agent.finished
    # Only what the record took counts: the refused promise is no outcome of its own.
    outcome = outcome_of([promise, *tools], FACTS, said)
    assert (outcome["outcome"], outcome["promise_date"]) == ("promise_to_pay", "2026-12-10")
    assert outcome_of([promise], FACTS, "")["outcome"] == "no_agreement"


async def test_more_than_the_records_balance_is_refused_with_the_balance_said():
    record = DryRunRecord(replace(FACTS, amount_owed=120000), NOW)  # partly paid since the card was read
    agent = RuleAgent(load_flow("tardia"), FACTS, clock=lambda: NOW)
    agent.greeting()
    await turn(agent, "Sí, soy yo", record)
    await turn(agent, "le pago todo el quince de diciembre", record)
    said, tools = await turn(agent, "sí", record)
    assert tools[0].result.code == Refusal.AMOUNT_OVER_DEBT and "registrado" not in said
    assert "120000" in said and not agent.finished
    said, tools = await turn(agent, "sí", record)  # a yes is the balance the record holds, read back
    assert not tools and "120000" in said
    said, tools = await turn(agent, "sí", record)
    assert [(t.arguments["amount"], t.result.ok) for t in tools] == [(120000, True)]


async def test_a_refusal_nobody_can_negotiate_goes_to_a_person_and_a_result_nobody_gave_confirms():
    agent = RuleAgent(load_flow("prejudicial"), FACTS, clock=lambda: NOW)
    agent.greeting()

    class Unidentified:
        async def run(self, call: ToolCall) -> ActionResult:
            if call.name == "register_promise":
                return ActionResult.refused(Refusal.UNIDENTIFIED, "the caller has not been identified")
            return ActionResult.done()

    await turn(agent, "Sí, soy yo", Unidentified())
    await turn(agent, "le pago todo el quince de diciembre", Unidentified())
    said, tools = await turn(agent, "sí", Unidentified())
    assert [t.name for t in tools] == ["register_promise", "transfer_to_agent"]
    assert "no fue posible registrar" in said and "registrado." in said and agent.finished
    # An agent driven bare (no player, no record: `result` None) reads that as nothing refused.
    bare = RuleAgent(load_flow("temprana"), FACTS, clock=lambda: NOW)
    bare.greeting()
    for text in ("Sí, soy yo", "le pago todo el quince de diciembre"):
        [i async for i in bare.reply(text)]
    items = [i async for i in bare.reply("sí")]
    assert items[0].result is None and "quedó registrado" in items[1]


def test_every_bundled_flow_words_every_refusal():
    keys = {"promise_refused_too_late", "promise_refused_over_balance", "promise_refused_past", "promise_refused"}
    for flow in bundled_flows().values():
        assert keys <= set(flow.prompts) and len({flow.prompts[k] for k in keys}) == 4, flow.name


def test_the_bounds_are_the_records():
    today, last = date(2026, 11, 23), date(2026, 12, 10)

    def code(day, amount, **kw):
        found = promise_refusal(day, amount, today=today, max_date=last, amount_owed=185000, **kw)
        return found and found.code

    assert code(date(2026, 11, 22), 1000) == Refusal.DATE_PAST
    assert code(date(2026, 12, 11), 1000) == Refusal.DATE_AFTER_MAX
    assert code(last, 185001) == Refusal.AMOUNT_OVER_DEBT
    assert code(last, 0) == Refusal.AMOUNT
    assert code(today, 185000) is None and code(last, 185000, installments=3, installment_amount=61667) is None


def test_a_refusal_is_worded_with_the_records_bound_even_with_no_flow_known():
    flowless = refusal_words()  # an inbound caller the model identified: the default flow's words
    late = ActionResult.refused(Refusal.DATE_AFTER_MAX, "the debt must be paid by 2026-12-10", "2026-12-10")
    assert "no pude registrar" in flowless(late) and spoken_date(date(2026, 12, 10)) in flowless(late)
    over = ActionResult.refused(Refusal.AMOUNT_OVER_DEBT, "the debt is 120000.00", "120000.00")
    assert "120000 pesos" in flowless(over)
    assert flowless(ActionResult.refused(Refusal.AMOUNT_OVER_DEBT, "the debt is ?")) == PROMISE_NOT_REGISTERED
    assert flowless(ActionResult.refused(Refusal.UNIDENTIFIED, "who?")) == PROMISE_NOT_REGISTERED
    # With the flow and the card: the flow's own words, the record's bound over the card's.
    formal = refusal_words(load_flow("prejudicial"), FACTS)(late)
    assert formal.startswith("Lamentablemente") and spoken_date(date(2026, 12, 10)) in formal


async def test_a_payment_link_is_offered_only_where_something_sends_it():
    """With a gateway the link is sent and named by its channel; without one the agent says how else to
    pay (a transfer's data, digits in pairs) and asks for the date: never a message that will not come."""
    for via, instructions, sent, words in (
            ("WhatsApp", "", True, "por WhatsApp"),
            ("", "", False, "directamente con Natura"),
            ("", "cuenta corriente 12345678 del Banco Estado", False, "12, 34, 56, 78 del Banco Estado")):
        facts = replace(FACTS, payment_link_via=via, payment_instructions=instructions)
        record = DryRunRecord(facts, NOW)
        agent = RuleAgent(load_flow("temprana"), facts, clock=lambda: NOW)
        agent.greeting()
        await turn(agent, "Sí, soy yo", record)
        said, tools = await turn(agent, "mándeme el link de pago por whatsapp", record)
        assert [t.name for t in tools] == (["send_payment_link"] if sent else []), via
        assert words in said and "qué día" in said.lower(), said
        assert sent or "enlace" not in said.lower(), said
        if sent:  # asked again on the same call: the debtor hears it went out; one message is enough
            said, tools = await turn(agent, "mándeme el link de pago por whatsapp", record)
            assert not tools and "Ya le envié el enlace de pago por WhatsApp" in said, said


async def test_a_link_the_record_refuses_mid_call_is_replaced_by_how_else_to_pay():
    # The card said WhatsApp; the company's gateway was disabled since the call began.
    facts = replace(FACTS, payment_link_via="WhatsApp", payment_instructions="cuenta 987654321")
    record = DryRunRecord(replace(facts, payment_link_via=""), NOW)
    agent = RuleAgent(load_flow("temprana"), facts, clock=lambda: NOW)
    agent.greeting()
    await turn(agent, "Sí, soy yo", record)
    said, tools = await turn(agent, "mándeme el link de pago", record)
    (link,) = tools
    assert link.result is not None and link.result.code == Refusal.NO_PAYMENT_CHANNEL
    assert "WhatsApp" not in said and "98, 76, 54, 32, 1" in said and "qué día" in said.lower()
    said, tools = await turn(agent, "¿y cómo pago?", record)  # asked again: no second try at the link
    assert not tools and "98, 76" in said
