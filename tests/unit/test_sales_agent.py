"""The built-in sales agent and the lead's reading, without a call: dialogs as a lead would speak them,
the lead each one records, and the sales analysis of a call whose lead was never recorded."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from agent.flow import FlowError
from agent.llm import ToolCall
from agent.sales.agent import SalesAgent
from agent.sales.cues import LeadReading, read_line
from agent.sales.prompt import sales_prompt
from agent.sales.script import SalesScript, bundled_scripts, load_script
from agent.tools import SALES_TOOL_SCHEMAS, TOOL_SCHEMAS, RecordLead, ToolArgumentError, command_from
from agent.vocabulary import ToolName
from analysis import load_classification
from analysis.inputs import AnalysisInput, CallFacts, Utterance
from analysis.sales import SalesAnalyzer

SANTIAGO = ZoneInfo("America/Santiago")
NOON = datetime(2026, 12, 3, 12, 30, tzinfo=SANTIAGO)


def agent(**variables: str) -> SalesAgent:
    return SalesAgent(load_script("libranza"), full_name="Pedro Díaz Soto", company="Banco Sur",
                      clock=lambda: NOON, country="CL", variables=variables)


async def talk(a: SalesAgent, *lines: str) -> tuple[list[str], list[ToolCall]]:
    said, tools = [a.greeting()], []
    for line in lines:
        assert not a.finished, f"the call ended before {line!r}: {said}"
        async for item in a.reply(line):
            (tools if isinstance(item, ToolCall) else said).append(item)
    return said, tools


def recorded(tools: list[ToolCall]) -> dict:
    (lead,) = [t.arguments for t in tools if t.name == ToolName.RECORD_LEAD]
    return lead


async def test_a_lead_who_dialled_back_is_thanked_for_it_before_the_identity_question():
    a = SalesAgent(load_script("libranza"), full_name="Pedro Díaz Soto", company="Banco Sur",
                   clock=lambda: NOON, country="CL", called_in=True)
    said, _ = await talk(a, "Sí, soy yo.")
    assert said[0] == "Hola, buenas tardes, gracias por devolver la llamada a Banco Sur. ¿Hablo con Pedro?"
    assert "libranza" in said[1]  # then the offer, as on a call out


async def test_an_interested_lead_asks_objects_and_accepts_an_executive():
    a = agent()
    said, tools = await talk(a, "Sí, soy yo.", "Sí, me interesa. ¿Cuánto me pueden prestar?",
                             "Ya tengo un crédito con otro banco.", "Está bien, que me llame un ejecutivo.")
    assert said[0] == "Hola, buenas tardes. ¿Hablo con Pedro?"
    assert "Esta llamada es grabada" in said[1] and "libranza" in said[1]  # who calls, recorded, the offer
    assert "hasta 20 millones de pesos" in said[2]  # the script's figure, not an invented one
    assert "¿Le parece que un ejecutivo le llame" in said[3]
    assert "pagar ese crédito" in said[4]  # the objection met
    assert a.finished and "Un ejecutivo le llamará pronto" in said[-1]
    assert recorded(tools) == {"interest": 5, "objections": ["has_credit"], "wants_contact": True,
                               "key_points": ["preguntó por el monto", "acepta que lo llame un ejecutivo"]}
    assert [t.name for t in tools] == [ToolName.RECORD_LEAD]  # no transfer: an executive calls back


async def test_two_noes_end_politely_with_no_interest():
    said, tools = await talk(agent(), "Sí, con él.", "No me interesa.", "No, gracias.")
    assert "sin compromiso" in said[2]  # the first no is met once
    assert said[-1].startswith("Entiendo, Pedro. Gracias por su tiempo")
    assert recorded(tools)["interest"] == 1 and recorded(tools)["objections"] == ["no_interest"]


async def test_questions_are_answered_from_the_lead_s_own_offer():
    said, tools = await talk(agent(max_amount="hasta 8 millones de pesos"), "Sí, soy yo.",
                             "¿Qué tasa tiene y cuánto me pueden prestar?", "Lo voy a pensar.", "No.",
                             "No, gracias.")
    answer = " ".join(said[2:4])  # one sentence a question, both before the next question
    assert "1,2 % mensual" in answer and "hasta 8 millones de pesos" in answer, said
    assert "sin compromiso" in said[-2]  # the first "no" met once, the second taken
    lead = recorded(tools)
    assert lead["interest"] == 1 and lead["objections"] == ["think", "no_interest"], lead
    assert lead["key_points"] == ["preguntó por el monto, la tasa"]


async def test_stop_calling_and_a_wrong_number_are_honoured_at_once():
    _, tools = await talk(agent(), "Sí, soy yo.", "No me vuelvan a llamar nunca más.")
    assert [t.name for t in tools] == [ToolName.RECORD_LEAD, ToolName.STOP_CALLING]
    _, tools = await talk(agent(), "Número equivocado, aquí no vive ningún Pedro.")
    assert [t.name for t in tools] == [ToolName.REPORT_WRONG_NUMBER]


async def test_someone_else_hears_no_offer_and_a_time_they_give_is_booked():
    said, tools = await talk(agent(), "No, él no está, llame mañana a las cinco de la tarde.")
    assert not any("libranza" in s for s in said)
    (callback,) = tools
    assert callback.name == ToolName.SCHEDULE_CALLBACK and callback.arguments["when"].startswith("2026-12-04T17:00")


async def test_a_pause_taken_for_the_turn_s_end_is_undone():
    a = agent()
    await talk(a, "Sí, soy yo.")
    async for _ in a.reply("No me interesa"):
        pass
    assert a.retract_last_reply()
    assert a.lead.declines == 0 and not a.finished


@pytest.mark.parametrize(("line", "questions", "objections", "interested", "declined"), [
    ("¿Cuáles son los requisitos?", ("requirements",), (), False, False),
    ("La tasa es muy alta", (), ("rate",), False, False),
    ("No quiero más deudas", (), ("debt",), False, False),
    ("No gracias, no me interesa", (), (), False, True),
    ("Me interesa, ¿a cuántos meses?", ("term",), (), True, False),
])
def test_a_line_s_cues(line, questions, objections, interested, declined):
    cues = read_line(line)
    assert (cues.questions, cues.objections, cues.interested, cues.declined) == (
        questions, objections, interested, declined)


def test_interest_is_scored_one_to_five():
    reading = LeadReading()
    assert reading.interest == 1  # never engaged
    reading.add(read_line("¿De qué se trata?"))
    assert reading.interest == 3
    reading.add(read_line("Me interesa, unos cinco millones a 36 meses"))
    assert reading.interest == 4 and "monto que le interesa: 5.000.000 pesos" in reading.key_points
    assert "plazo que le interesa: 36 meses" in reading.key_points
    reading.add(read_line("No, mejor no me interesa"))
    assert reading.interest == 2
    reading.accepted()
    assert reading.interest == 5


def test_record_lead_is_a_sales_tool_only_and_checks_its_arguments():
    names = {s["function"]["name"] for s in SALES_TOOL_SCHEMAS}
    assert "record_lead" in names and "register_promise" not in names
    assert "record_lead" not in {s["function"]["name"] for s in TOOL_SCHEMAS}
    command = command_from(ToolCall("x", ToolName.RECORD_LEAD, {"interest": 4, "key_points": ["  monto  5M "],
                                                                "wants_contact": False}))
    assert command == RecordLead(4, ("monto 5M",), (), False)
    for bad in ({"interest": 0}, {"interest": 2.5}, {"interest": True}, {"interest": 3, "objections": "rate"}):
        with pytest.raises(ToolArgumentError):
            command_from(ToolCall("x", ToolName.RECORD_LEAD, bad))


def test_a_script_without_the_offer_s_figures_is_refused():
    with pytest.raises(FlowError, match="offer.*rate"):
        SalesScript.from_toml('[prompts]\n' + "\n".join(
            f'{k} = "x"' for k in bundled_scripts()["libranza"].prompts) + '\n[offer]\nproduct = "p"\n'
            'max_amount = "m"\nterm = "t"\nrequirements = "r"\n')
    with pytest.raises(FlowError, match="no sales script"):
        load_script("hipotecario")


def test_a_lead_who_hung_up_before_the_record_is_read_from_the_words():
    lines = (Utterance("agent", "¿Hablo con Pedro?"), Utterance("caller", "Sí, soy yo."),
             Utterance("agent", "...¿Le interesaría conocer las condiciones?"),
             Utterance("caller", "Sí, me interesa, ¿cuánto me pueden prestar?"))
    analysis = SalesAnalyzer(load_classification()).analyze(
        AnalysisInput(CallFacts(NOON, result=None, purpose="sales"), lines))
    assert analysis.sales is not None and analysis.sales.source == "transcript"
    assert (analysis.sales.interest_score, analysis.needs_human, analysis.priority) == (4, True, 65)
    assert analysis.interest_level.value == "high" and analysis.as_document()["sales"]["interest_score"] == 4


async def test_a_person_asked_for_is_a_transfer_at_any_step():
    for lines in (("Quiero hablar con una persona.",), ("Sí, soy yo.", "Páseme con un ejecutivo, por favor.")):
        _, tools = await talk(agent(), *lines)
        assert [t.name for t in tools] == [ToolName.RECORD_LEAD, ToolName.TRANSFER_TO_AGENT], lines


def test_the_model_is_told_the_order_the_tools_and_only_the_operator_s_figures():
    prompt = sales_prompt(load_script("libranza"), full_name="Pedro Díaz Soto", company="Banco Sur", now=NOON,
                          country="CL", variables={"max_amount": "hasta 8 millones de pesos", "sucursal": "Centro"})
    assert "¿Hablo con Pedro?" in prompt and "a nadie más le cuentes la oferta" in prompt
    assert "rate: 1,2 % mensual" in prompt and "max_amount: hasta 8 millones de pesos" in prompt  # the lead's own
    assert "20 millones" not in prompt and "sucursal: Centro" in prompt
    assert "record_lead" in prompt and "ya tiene un crédito" in prompt  # the objections' words
    assert "2026-12-03" in prompt and "{" not in prompt  # the call's calendar; every placeholder filled


def test_the_model_s_example_opening_thanks_a_lead_who_dialled_back():
    prompt = sales_prompt(load_script("libranza"), full_name="Pedro Díaz Soto", company="Banco Sur", now=NOON,
                          country="CL", called_in=True)
    assert "gracias por devolver la llamada a Banco Sur. ¿Hablo con Pedro?" in prompt
    assert "a nadie más le cuentes la oferta" in prompt and "{" not in prompt
