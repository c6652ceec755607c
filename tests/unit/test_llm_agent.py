"""The LLM agent in front of the rule engine, against an OpenAI-compatible stand-in speaking real SSE:
the model's tool calls reach the call, and a failing model mid-call hands the turn to the rules."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from agent.flow import DebtorFacts, load_flow
from agent.llm import ChatLlm, ToolCall
from agent.llm_agent import LlmAgent
from agent.rule_agent import RuleAgent
from agent.tools import TOOL_SCHEMAS, RegisterPromise, command_from
from tests.standins.openai_server import ScriptedOpenAIServer, ScriptedReply

NOW = datetime(2026, 11, 23, 10, tzinfo=ZoneInfo("America/Santiago"))
FACTS = DebtorFacts("María José Pérez", "Natura", amount_owed=185000, installments_owed=3,
                    due_date=date(2026, 10, 5), max_date=date(2026, 12, 31))


async def _turn(agent, text):
    return [item async for item in agent.reply(text)]


async def test_the_models_tool_call_becomes_a_typed_command_and_a_failure_falls_back_to_the_rules():
    replies = [
        ScriptedReply(text="Perfecto. Registro su promesa de cincuenta mil pesos para el quince de diciembre.",
                      tool_calls=[("register_promise", {"date": "2026-12-15", "amount": 50000})]),
        ScriptedReply(text="Listo, quedó registrado."),  # asked again once the tool's result is in
        ScriptedReply(status=500),  # the endpoint breaks mid-call
        ScriptedReply(text="Gracias, que tenga un buen día.",
                      tool_calls=[("end_call", {"outcome": "completed"})]),
    ]
    async with ScriptedOpenAIServer(replies).running() as server, \
            ChatLlm(base_url=server.base_url, api_key="k", model="scripted") as llm:
        rules = RuleAgent(load_flow("temprana"), FACTS, clock=lambda: NOW)
        agent = LlmAgent(llm, "Eres un agente de cobranza.", rules, tools=TOOL_SCHEMAS)
        assert "¿Hablo con María?" in agent.greeting()  # the flow's identity question opens the call

        first = await _turn(agent, "Sí, soy yo, le pago cincuenta mil el quince de diciembre")
        (tool,) = [i for i in first if isinstance(i, ToolCall)]
        assert command_from(tool) == RegisterPromise(date(2026, 12, 15), 50000)
        assert server.requests[0]["tools"] == TOOL_SCHEMAS  # the schemas went over the wire

        second = await _turn(agent, "¿Cómo dijo?")
        assert second and all(isinstance(i, str) for i in second)  # the rule engine answered, no silence
        assert not agent.finished

        third = await _turn(agent, "Nada más, gracias")
        assert [i.name for i in third if isinstance(i, ToolCall)] == ["end_call"]
        assert agent.finished  # the loop hangs up after the last words
