"""The LLM agent's function-calling loop over the real wire protocol (the scripted OpenAI-compatible
stand-in, SSE): tool results go back to the model as `role: tool` messages, the model is asked again,
the prompt carries the call's clock and calendar, and a refused promise is never confirmed."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from agent.dry_run import DryRunRecord
from agent.flow import DebtorFacts, load_flow
from agent.identify_agent import IdentifyingAgent
from agent.llm import ChatLlm
from agent.llm_agent import LlmAgent, claims_registration
from agent.prompts import refusal_words, system_prompt
from agent.rule_agent import RuleAgent
from agent.simulate import Dialog, build_agent, simulate
from agent.tools import INBOUND_TOOL_SCHEMAS, TOOL_SCHEMAS
from tests.standins.openai_server import ScriptedOpenAIServer, ScriptedReply

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/Santiago"))  # a Monday, 10:00 (UTC-3)
FACTS = DebtorFacts("María José Pérez", "Natura", amount_owed=185000, installments_owed=3,
                    due_date=date(2026, 10, 5), max_date=date(2026, 12, 31), payment_link_via="WhatsApp")
DIALOG = {"now": "2026-11-23T10:00:00-03:00",
          "facts": {"full_name": "Camila Rojas", "company": "Natura", "amount_owed": 150000, "installments_owed": 2,
                    "due_date": "2026-11-05", "max_date": "2026-12-10", "country": "CL"},
          "flow": "temprana", "debtor_turns": ["Sí, soy yo", "Le pago todo el quince de diciembre"]}


def _agent(llm: ChatLlm, record_facts: DebtorFacts = FACTS) -> tuple[LlmAgent, DryRunRecord]:
    flow = load_flow("temprana")
    rules = RuleAgent(flow, FACTS, clock=lambda: NOW, country="CL")
    agent = LlmAgent(llm, system_prompt(flow, FACTS, now=NOW, country="CL"), rules, tools=TOOL_SCHEMAS,
                     explain_refusal=refusal_words(flow, FACTS))
    return agent, DryRunRecord(record_facts, NOW)


async def _turn(agent: LlmAgent, record: DryRunRecord, text: str) -> tuple[str, list]:
    """One turn as the call's player runs it: each action carried out before the agent resumes."""
    said, calls = [], []
    async for item in agent.reply(text):
        if isinstance(item, str):
            said.append(item)
        else:
            item.result = await record.run(item)
            calls.append(item)
    return " ".join(said), calls


def _tool_messages(request: dict) -> list[dict]:
    return [m for m in request["messages"] if m["role"] == "tool"]


async def test_a_refused_promise_goes_back_to_the_model_and_is_never_confirmed_to_the_debtor():
    replies = [
        ScriptedReply(text="Le habla Sofía, de Natura. Su deuda es de 150000 pesos. ¿Qué día puede pagar?"),
        # The model confirms in the same breath as the tool call, before the record answered...
        ScriptedReply(text="Perfecto. Su compromiso quedó registrado para el quince de diciembre.",
                      tool_calls=[("register_promise", {"date": "2026-12-15", "amount": 150000})]),
        # ... and, told it was refused, says it again anyway.
        ScriptedReply(text="Listo, quedó anotado. ¿Le puedo ayudar en algo más?"),
    ]
    async with ScriptedOpenAIServer(replies).running() as server, \
            ChatLlm(base_url=server.base_url, api_key="k", model="scripted") as llm:
        dialog = Dialog.from_json(DIALOG)
        result = await simulate(dialog, build_agent(dialog, llm=llm))
    said = result["turns"][-1]["agent"]
    assert "registrado" not in said and "anotado" not in said  # no claim reached the debtor
    assert "no pude registrar" in said and "jueves 10 de diciembre" in said  # the refusal, with the maximum
    assert "¿Le puedo ayudar en algo más?" in said  # what was not a claim is still said
    (promise,) = result["turns"][-1]["tools"]
    assert promise["result"] == "refused: date_after_max: the debt must be paid by 2026-12-10"
    assert result["outcome"]["outcome"] == "no_agreement"  # a refused promise is no promise
    # The second request answers the tool call: the assistant message carrying it, then its result.
    (sent_id,) = server.sent_tool_call_ids[1]
    messages = server.requests[2]["messages"]
    assistant, tool = messages[-2], messages[-1]
    assert assistant["role"] == "assistant" and [c["id"] for c in assistant["tool_calls"]] == [sent_id]
    assert assistant["tool_calls"][0]["function"]["name"] == "register_promise"
    assert tool["role"] == "tool" and tool["tool_call_id"] == sent_id
    assert tool["content"].startswith("refused: date_after_max") and "NO quedó registrada" in tool["content"]


async def test_the_prompt_over_the_wire_carries_the_calls_clock_calendar_and_limits():
    async with ScriptedOpenAIServer([ScriptedReply(text="Muy bien.")]).running() as server, \
            ChatLlm(base_url=server.base_url, api_key="k", model="scripted") as llm:
        agent, record = _agent(llm)
        agent.greeting()
        await _turn(agent, record, "Sí, soy yo")
    system = server.requests[0]["messages"][0]
    assert system["role"] == "system"
    prompt = system["content"]
    assert "Hoy es lunes 2026-11-23" in prompt and "son las 10:00" in prompt
    assert "America/Santiago" in prompt and "UTC-03:00" in prompt
    assert "vie 2026-11-27" in prompt and "Fin de mes: 2026-11-30" in prompt  # relative dates resolve
    assert "lun 2026-11-23 de 10:00 a 20:00" in prompt  # the next moment the law allows a call: now
    assert "fecha máxima de pago (max_date): 2026-12-31" in prompt and "185000" in prompt
    assert "hasta 3 cuotas" in prompt
    # Another clock, another prompt: built per call, never at import.
    later = system_prompt(load_flow("temprana"), FACTS, now=datetime(2026, 12, 4, 21, 30, tzinfo=NOW.tzinfo),
                          country="CL")
    assert "Hoy es viernes 2026-12-04" in later and "mar 2026-12-08 (feriado" in later
    assert "Próximos momentos en que se puede llamar: lun 2026-12-07 de 08:00" in later  # not tonight, not Sat


async def test_the_loop_continues_after_a_tool_result_and_a_closing_tool_ends_it():
    replies = [
        ScriptedReply(text="Claro.", tool_calls=[("send_payment_link", {})]),
        ScriptedReply(text="Le llegará por WhatsApp.", tool_calls=[("register_promise", {"date": "2026-11-27",
                                                                                         "amount": 185000})]),
        ScriptedReply(text="Su compromiso quedó registrado. Gracias."),  # accepted: the claim stands
        ScriptedReply(text="Hasta luego.", tool_calls=[("end_call", {"outcome": "completed"})]),
        ScriptedReply(text="never asked for"),
    ]
    async with ScriptedOpenAIServer(replies).running() as server, \
            ChatLlm(base_url=server.base_url, api_key="k", model="scripted") as llm:
        agent, record = _agent(llm)
        agent.greeting()
        said, calls = await _turn(agent, record, "Mándeme el link, pago todo el viernes")
        assert said == "Claro. Le llegará por WhatsApp. Su compromiso quedó registrado. Gracias."
        assert [(c.name, c.result.ok) for c in calls] == [("send_payment_link", True), ("register_promise", True)]
        assert len(server.requests) == 3 and not agent.finished
        # Round 3 was the last one of the turn: words only.
        assert server.requests[2]["tool_choice"] == "none" and "tool_choice" not in server.requests[1]
        second, third = server.requests[1]["messages"], server.requests[2]["messages"]
        assert _tool_messages(server.requests[1]) == [
            {"role": "tool", "tool_call_id": server.sent_tool_call_ids[0][0], "content": "ok"}]
        assert [m["tool_call_id"] for m in _tool_messages(server.requests[2])] == [
            server.sent_tool_call_ids[0][0], server.sent_tool_call_ids[1][0]]
        assert third[len(second) - 0]["role"] == "assistant" and "tool_calls" in third[len(second)]
        assert _tool_messages(server.requests[2])[-1]["content"].startswith("ok: promise 1 for 2026-11-27")

        said, calls = await _turn(agent, record, "Nada más, chao")
        assert said == "Hasta luego." and [c.name for c in calls] == ["end_call"] and agent.finished
        assert len(server.requests) == 4  # a closing tool is not followed by another request
        assert agent.history[-1] == {"role": "tool", "tool_call_id": server.sent_tool_call_ids[3][0],
                                     "content": "ok"}


async def test_a_claim_with_no_promise_behind_it_is_not_said():
    replies = [ScriptedReply(text="Su pago quedó registrado. ¿Qué día le acomoda?")]
    async with ScriptedOpenAIServer(replies).running() as server, \
            ChatLlm(base_url=server.base_url, api_key="k", model="scripted") as llm:
        agent, record = _agent(llm, replace(FACTS, max_date=date(2026, 12, 10)))
        agent.greeting()
        said, calls = await _turn(agent, record, "Sí, soy yo")
    assert said == "¿Qué día le acomoda?" and not calls and len(server.requests) == 1


def test_what_counts_as_claiming_a_registration():
    for claim in ("Su compromiso quedó registrado.", "Listo, quedó anotado.", "Ya lo registré.",
                  "Queda confirmado su compromiso de pago.", "He registrado su promesa."):
        assert claims_registration(claim), claim
    for not_a_claim in ("Entonces registro su compromiso. ¿Es correcto?", "No quedó registrado, disculpe.",
                        "Disculpe, no pude registrar esa fecha.", "¿Qué día podría pagar?"):
        assert not claims_registration(not_a_claim), not_a_claim


async def test_a_cut_turn_keeps_in_each_message_only_what_was_heard_and_answers_every_tool_call():
    replies = [ScriptedReply(text="Uno. Dos.", tool_calls=[("send_payment_link", {})]),
               ScriptedReply(text="Tres. Cuatro.")]
    async with ScriptedOpenAIServer(replies).running() as server, \
            ChatLlm(base_url=server.base_url, api_key="k", model="scripted") as llm:
        agent, record = _agent(llm)
        agent.greeting()
        await _turn(agent, record, "Mándeme el link")
    agent.correct_last_reply("Uno. Dos. Tres…")  # a barge-in during "Cuatro."
    first, tool, second = agent.history[-3:]
    assert first["content"] == "Uno. Dos." and first["tool_calls"][0]["id"] == server.sent_tool_call_ids[0][0]
    assert tool == {"role": "tool", "tool_call_id": server.sent_tool_call_ids[0][0], "content": "ok"}
    assert second == {"role": "assistant", "content": "Tres…"}
    agent.correct_last_reply("Un…")  # cut in the first sentence: the later message said nothing
    assert first["content"] == "Un…" and second["content"] == ""


async def test_the_model_cannot_hang_up_on_a_promise_just_refused():
    replies = [
        ScriptedReply(text="Queda registrado. Que tenga un buen día.",
                      tool_calls=[("register_promise", {"date": "2027-01-15", "amount": 185000}),
                                  ("end_call", {"outcome": "completed"})]),
        ScriptedReply(text="¿Podría pagar antes del treinta y uno de diciembre?"),
    ]
    async with ScriptedOpenAIServer(replies).running() as server, \
            ChatLlm(base_url=server.base_url, api_key="k", model="scripted") as llm:
        agent, record = _agent(llm)
        agent.greeting()
        said, calls = await _turn(agent, record, "Le pago todo el quince de enero")
    assert [c.name for c in calls] == ["register_promise"]  # end_call never reached the call
    assert not agent.finished and "registrado" not in said and "jueves 31 de diciembre" in said
    assert said.endswith("¿Podría pagar antes del treinta y uno de diciembre?")
    promise_id, end_id = server.sent_tool_call_ids[0]
    answers = {m["tool_call_id"]: m["content"] for m in _tool_messages(server.requests[1])}
    assert answers[promise_id].startswith("refused: date_after_max") and answers[end_id].startswith("not carried out")


async def test_an_inbound_caller_the_rut_menu_identified_in_a_failed_turn_stays_with_their_own_agent():
    debtor = RuleAgent(load_flow("temprana"), FACTS, clock=lambda: NOW)

    class Claimed:
        def __init__(self, rut: str) -> None:
            self.rut = rut

        async def confirm(self, digits: str):
            return debtor if (self.rut, digits) == ("12345678-5", "4521") else None

    async def lookup(rut: str, how: str):
        return Claimed(rut.replace(".", "").upper())

    async with ScriptedOpenAIServer([ScriptedReply(status=500)] * 2).running() as server, \
            ChatLlm(base_url=server.base_url, api_key="k", model="scripted") as llm:
        asks_rut = IdentifyingAgent(lookup, clock=lambda: NOW)
        agent = LlmAgent(llm, "Atiendes una llamada entrante.", asks_rut, tools=INBOUND_TOOL_SCHEMAS)
        agent.greeting()
        said, _ = await _turn(agent, DryRunRecord(FACTS, NOW), "Mi RUT es 12.345.678-5")  # the model fails
        assert "cuatro dígitos" in said and asks_rut.identified_agent is None
        said, _ = await _turn(agent, DryRunRecord(FACTS, NOW), "Cuatro cinco dos uno")  # it fails again
        assert "Natura" in said and asks_rut.identified_agent is debtor
        said, _ = await _turn(agent, DryRunRecord(FACTS, NOW), "Sí, dígame")
    assert len(server.requests) == 2  # the debtor's own agent answered; the unknown caller's model is done
    assert said and not agent.finished
