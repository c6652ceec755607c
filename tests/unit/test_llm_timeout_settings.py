"""The agent's LLM waits as long as LLM_FIRST_TOKEN_TIMEOUT_S and LLM_STALL_TIMEOUT_S say: a local model
that reads a long prompt slowly can be given the time, and a caller is never left waiting longer."""

from __future__ import annotations

import pytest

from agent.llm import LlmError, TextDelta
from ari_app.calls.dialogue import _warm_llm
from ari_app.settings import Settings
from tests.standins.openai_server import ScriptedOpenAIServer, ScriptedReply

MESSAGES = [{"role": "user", "content": "¿Cuánto debo?"}]


async def _answer(server: ScriptedOpenAIServer, **timeouts: object) -> str:
    settings = Settings(**{"LLM_BASE_URL": server.base_url, "LLM_MODEL": "scripted", **timeouts})
    async with _warm_llm(settings) as llm:
        return "".join([d.text async for d in llm.stream(MESSAGES) if isinstance(d, TextDelta)])


async def test_a_slow_first_token_is_waited_for_when_the_setting_allows_it():
    slow = ScriptedReply(text="Son cien mil pesos.", delay_first_s=1.0)
    async with ScriptedOpenAIServer([slow, slow]).running() as server:
        with pytest.raises(LlmError, match="in time"):
            await _answer(server, LLM_FIRST_TOKEN_TIMEOUT_S=0.3)
        assert await _answer(server, LLM_FIRST_TOKEN_TIMEOUT_S=5) == "Son cien mil pesos."


async def test_a_pause_mid_answer_is_waited_for_when_the_setting_allows_it():
    pausing = ScriptedReply(text="Son cien mil pesos.", chunk_chars=10, delay_between_s=0.6)
    async with ScriptedOpenAIServer([pausing, pausing]).running() as server:
        with pytest.raises(LlmError):
            await _answer(server, LLM_STALL_TIMEOUT_S=0.2)
        assert await _answer(server, LLM_STALL_TIMEOUT_S=5) == "Son cien mil pesos."


def test_timeouts_must_be_positive():
    with pytest.raises(ValueError):
        Settings(LLM_FIRST_TOKEN_TIMEOUT_S=0)
