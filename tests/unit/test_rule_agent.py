"""The built-in collections agent, turn by turn, over the bundled flows (no LLM, no audio)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from agent.flow import DebtorFacts, Flow, FlowError, bundled_flows, load_flow, spoken_date
from agent.llm import ToolCall
from agent.rule_agent import RuleAgent

SANTIAGO = ZoneInfo("America/Santiago")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SANTIAGO)  # a Monday
FACTS = DebtorFacts("María José Pérez", "Natura", amount_owed=185000, installments_owed=3,
                    due_date=date(2026, 10, 5), max_date=date(2026, 12, 31))


def agent(flow: str = "temprana") -> RuleAgent:
    return RuleAgent(load_flow(flow), FACTS, clock=lambda: NOW)


async def turn(a: RuleAgent, text: str) -> tuple[str, list[ToolCall]]:
    said, tools = [], []
    async for item in a.reply(text):
        (tools if isinstance(item, ToolCall) else said).append(item)
    return " ".join(said), tools


async def test_identity_first_then_the_debt_then_a_confirmed_promise():
    a = agent()
    greeting = a.greeting()
    assert "María" in greeting and "185000" not in greeting  # no debt detail before the identity check
    said, _ = await turn(a, "Sí, con ella habla")
    assert "grabada" in said and "Natura" in said and "185000" not in said  # the notice: a short turn
    said, _ = await turn(a, "Sí, dígame")
    assert "185000" in said and "3 cuotas" in said
    # A part payment of at least the flow's least part (temprana: 50 % of 185000).
    said, tools = await turn(a, "le puedo pagar cien mil pesos el quince de diciembre")
    assert not tools and "100000" in said and spoken_date(date(2026, 12, 15)) in said  # read back first
    said, tools = await turn(a, "sí, correcto")
    assert [(t.name, t.arguments) for t in tools] == [("register_promise", {"date": "2026-12-15", "amount": 100000})]
    assert a.finished


async def test_a_promise_made_while_answering_the_identity_question_is_read_back_after_the_notice():
    a = agent()
    said, tools = await turn(a, "Sí, soy yo. Le puedo pagar cien mil pesos el quince de diciembre.")
    assert not tools
    assert said.index("grabada") < said.index("185000") < said.index("100000")  # notice, debt, then the offer
    assert spoken_date(date(2026, 12, 15)) in said
    said, tools = await turn(a, "sí, correcto")
    assert [(t.name, t.arguments) for t in tools] == [("register_promise", {"date": "2026-12-15", "amount": 100000})]


async def test_a_read_back_not_understood_is_asked_again_and_the_promise_kept():
    a = agent()
    await turn(a, "sí")
    await turn(a, "le pago cien mil el quince de diciembre")
    said, tools = await turn(a, "mmm zapato")
    assert not tools and "100000" in said and "repetir" in said
    _, tools = await turn(a, "perfecto, de acuerdo")
    assert [t.name for t in tools] == ["register_promise"]


async def test_a_promise_without_an_amount_is_the_balance_and_one_after_the_max_date_is_refused():
    # The spec: agreeing to pay with no amount once the debt was stated is the whole balance.
    a = agent()
    await turn(a, "sí soy yo")
    said, _ = await turn(a, "el viernes")
    assert "185000" in said and "viernes 27 de noviembre" in said
    said, _ = await turn(a, "no, cien lucas")  # a correction at the read-back renegotiates
    assert "100000" in said and "viernes 27 de noviembre" in said
    a = agent()
    await turn(a, "sí")
    said, tools = await turn(a, "le pago todo el 15 de enero")
    assert not tools and "plazo máximo" in said and spoken_date(FACTS.max_date) in said


@pytest.mark.parametrize("text, tool", [
    ("no me vuelvan a llamar", "stop_calling"),
    ("número equivocado", "report_wrong_number"),
    ("quiero hablar con una persona", "transfer_to_agent"),
])
async def test_requests_honoured_before_and_after_the_identity_check(text, tool):
    for confirmed in (False, True):
        a = agent()
        if confirmed:
            await turn(a, "sí")
        _, tools = await turn(a, text)
        assert [t.name for t in tools] == [tool] and a.finished


async def test_a_callback_is_asked_with_its_time():
    a = agent()
    await turn(a, "sí")
    said, tools = await turn(a, "ahora estoy manejando, llámeme el lunes a las tres de la tarde")
    (callback,) = tools
    assert callback.name == "schedule_callback"
    assert datetime.fromisoformat(callback.arguments["when"]) == datetime(2026, 11, 30, 15, tzinfo=SANTIAGO)
    assert "lunes 30 de noviembre a las 15:00" in said and a.finished


async def test_busy_without_a_time_is_asked_when_and_the_rest_of_the_sentence_books_it():
    # "Estoy en el trabajo, [breath] llámeme el lunes a las tres": the first half alone books nothing.
    a = agent()
    await turn(a, "sí")
    said, tools = await turn(a, "Estoy en el trabajo.")
    assert tools == [] and "volver a llamar" in said and not a.finished
    assert a.retract_last_reply()  # the rest arrived within the continuation window: one turn
    said, tools = await turn(a, "Estoy en el trabajo, llámeme el lunes a las tres de la tarde.")
    (callback,) = tools
    assert datetime.fromisoformat(callback.arguments["when"]) == datetime(2026, 11, 30, 15, tzinfo=SANTIAGO)
    assert "lunes 30 de noviembre a las 15:00" in said and a.finished
    a = agent()
    await turn(a, "sí")
    await turn(a, "Estoy en el trabajo.")
    said, tools = await turn(a, "El lunes a las tres.")  # or answered on its own
    assert [t.name for t in tools] == ["schedule_callback"] and "15:00" in said

async def test_not_the_debtor_and_not_their_number_is_a_wrong_number():
    a = agent()
    await turn(a, "no")
    _, tools = await turn(a, "no, no la conozco")
    assert [t.name for t in tools] == ["report_wrong_number"]


async def test_three_misunderstandings_in_a_row_go_to_a_human():
    a = agent()
    await turn(a, "sí")
    await turn(a, "sí, dígame")
    for _ in range(2):
        said, tools = await turn(a, "blablá zapato")
        assert said and not tools and not a.finished
    _, tools = await turn(a, "blablá zapato")
    assert [t.name for t in tools] == ["transfer_to_agent"]


async def test_already_paid_and_cannot_pay_close_with_their_result():
    a = agent()
    await turn(a, "sí")
    _, tools = await turn(a, "ya pagué la semana pasada")
    assert [(t.name, t.arguments) for t in tools] == [("end_call", {"outcome": "already_paid"})]
    a = agent()
    await turn(a, "sí")
    # The spec's order of offers for temprana after full payment: a part, then instalments, then no more.
    said, tools = await turn(a, "no tengo plata")
    assert "92500" in said and not tools
    said, tools = await turn(a, "no puedo, estoy sin trabajo")
    assert "3 cuotas de 61667" in said and not tools
    _, tools = await turn(a, "tampoco, no puedo")
    assert [(t.name, t.arguments) for t in tools] == [("end_call", {"outcome": "cannot_pay"})]


def test_every_bundled_flow_renders_every_prompt_without_leftover_placeholders():
    flows = bundled_flows()
    assert {"temprana", "tardia", "prejudicial"} <= set(flows)
    variables = {**FACTS.variables(), "agent_name": "Sofía", "promise_amount": "1", "promise_date": "x",
                 "callback_at": "y"}
    for flow in flows.values():
        for key in flow.prompts:
            text = flow.say(key, variables)
            assert text and "{" not in text, (flow.name, key)


def test_a_flow_missing_a_prompt_is_refused():
    with pytest.raises(FlowError, match="prompts missing"):
        Flow.from_toml('name = "x"\n[prompts]\nidentity = "hola"\n')
