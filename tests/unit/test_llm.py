"""The LLM client against a local server that speaks OpenAI's streaming protocol."""

from __future__ import annotations

import time

import pytest

from agent.llm import ChatLlm, LlmError, SentenceSplitter, TextDelta, ToolCall, sentences
from media.usage import CallUsage, count_into
from tests.standins.openai_server import ScriptedOpenAIServer, ScriptedReply

MESSAGES = [{"role": "user", "content": "¿Cuánto debo?"}]
TOOLS = [{"type": "function", "function": {"name": "register_promise", "parameters": {
    "type": "object", "properties": {"date": {"type": "string"}, "amount": {"type": "integer"}}}}}]


def _llm(server: ScriptedOpenAIServer, **kwargs) -> ChatLlm:
    return ChatLlm(base_url=server.base_url, api_key="test-key", model="scripted", **kwargs)


async def _collect(llm: ChatLlm, **kwargs) -> list:
    return [item async for item in sentences(llm.stream(MESSAGES, **kwargs))]


async def test_streamed_text_becomes_sentences_then_tool_calls():
    reply = ScriptedReply(
        text="Perfecto, Sra. González. Queda registrado el pago de $104.050 para el 15 de diciembre. ¿Algo más?",
        tool_calls=[("register_promise", {"date": "2026-12-15", "amount": 104050})],
    )
    async with ScriptedOpenAIServer([reply]).running() as server, _llm(server) as llm:
        items = await _collect(llm, tools=TOOLS)
    assert items == [
        "Perfecto, Sra. González.",
        "Queda registrado el pago de $104.050 para el 15 de diciembre.",
        "¿Algo más?",
        ToolCall(items[3].id, "register_promise", {"date": "2026-12-15", "amount": 104050}),
    ]
    assert items[3].id.startswith("call_")
    assert server.requests[0]["stream"] is True and server.requests[0]["tools"] == TOOLS


async def test_the_first_sentence_is_released_before_the_answer_ends():
    reply = ScriptedReply(text="Hola. " + "Le explico su deuda con calma " * 10 + ".", delay_between_s=0.01)
    async with ScriptedOpenAIServer([reply]).running() as server, _llm(server) as llm:
        started = time.monotonic()
        first_at = None
        async for item in sentences(llm.stream(MESSAGES)):
            first_at = first_at or time.monotonic() - started
        total = time.monotonic() - started
    assert first_at is not None and first_at < total / 3


async def test_server_error_is_an_llm_error():
    async with ScriptedOpenAIServer([ScriptedReply(status=503)]).running() as server, _llm(server) as llm:
        with pytest.raises(LlmError, match="failed"):
            await _collect(llm)


async def test_refused_connection_is_an_llm_error():
    llm = ChatLlm(base_url="http://127.0.0.1:9/v1", api_key="k", model="m")
    async with llm:
        with pytest.raises(LlmError):
            await _collect(llm)


async def test_no_first_token_in_time_is_an_llm_error_not_a_long_silence():
    slow = ScriptedReply(text="Hola.", delay_first_s=3.0)
    async with ScriptedOpenAIServer([slow]).running() as server, _llm(server, first_token_timeout_s=0.5) as llm:
        started = time.monotonic()
        with pytest.raises(LlmError, match="in time"):
            await _collect(llm)
        waited = time.monotonic() - started
    assert waited < 1.5


async def test_a_stall_mid_answer_is_an_llm_error():
    stalling = ScriptedReply(text="Hola, un momento por favor.", chunk_chars=5, delay_between_s=1.0)
    async with ScriptedOpenAIServer([stalling]).running() as server, \
            _llm(server, first_token_timeout_s=2.0, stall_timeout_s=0.3) as llm:
        with pytest.raises(LlmError):
            await _collect(llm)


async def test_raw_stream_yields_text_deltas_in_order():
    async with ScriptedOpenAIServer([ScriptedReply(text="Sí, claro.")]).running() as server, _llm(server) as llm:
        deltas = [d async for d in llm.stream(MESSAGES)]
    assert all(isinstance(d, TextDelta) for d in deltas)
    assert "".join(d.text for d in deltas) == "Sí, claro."


async def test_the_token_counts_are_asked_for_and_counted_for_the_call_that_asked():
    replies = [ScriptedReply(text="Sí, claro."), ScriptedReply(text="Bien.")]
    async with ScriptedOpenAIServer(replies).running() as server:
        usage = CallUsage()
        count_into(usage)  # as the conversation loop does in the task that speaks
        try:
            async with _llm(server) as llm:
                assert await _collect(llm) == ["Sí, claro."]
            async with _llm(server, report_usage=False) as quiet:  # for an endpoint that rejects the option
                assert await _collect(quiet) == ["Bien."]
        finally:
            count_into(None)
    assert server.requests[0]["stream_options"] == {"include_usage": True}
    assert "stream_options" not in server.requests[1]
    assert usage.llm_requests == 2 and usage.llm_completion_tokens == 3  # len("Sí, claro.") / 4, rounded up
    assert usage.llm_prompt_tokens > 0


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        (["Son $1", "04.050 pesos. Gracias."], ["Son $104.050 pesos.", "Gracias."]),
        (["¿Puede pagar", " el viernes? ", "Bien."], ["¿Puede pagar el viernes?", "Bien."]),
        (["Hable con el Dr. Pérez, por favor."], ["Hable con el Dr. Pérez, por favor."]),
        (["Sin punto final"], ["Sin punto final"]),
    ],
)
def test_sentence_splitter(chunks, expected):
    splitter = SentenceSplitter()
    out = [s for c in chunks for s in splitter.feed(c)] + splitter.flush()
    assert out == expected


def test_long_clause_is_cut_at_a_comma_so_tts_can_start():
    splitter = SentenceSplitter(max_chars=40)
    out = splitter.feed("Entiendo su situación, y por eso le propongo pagar en cuotas mensuales")
    assert out == ["Entiendo su situación,"]
