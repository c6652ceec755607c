"""Streaming chat completions from any OpenAI-compatible endpoint, turned into sentences and tool calls.

The conversation loop speaks sentence by sentence: the first sentence goes to TTS while the model
is still writing the rest. Tool calls arrive in fragments (name first, JSON arguments spread over
many chunks) and are only emitted once complete and parsed. Every failure of the endpoint (HTTP
error, refused connection, no first token in time, a stall mid-answer, unparseable tool
arguments) surfaces as one `LlmError`, which is the conversation loop's signal to fall back to the
built-in rule engine for that turn.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import openai

from media.responder import ActionResult
from media.usage import current_usage


class LlmError(RuntimeError):
    """The endpoint failed for this turn; the caller falls back to the rule engine."""


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(slots=True)
class ToolCall:
    """A tool the agent asks the call to run; `result` is set once the call ran it (`media.responder`)."""

    id: str
    name: str
    arguments: dict[str, Any]
    result: ActionResult | None = field(default=None, compare=False)

    def refusal(self) -> ActionResult | None:
        """The result when the call refused this tool; None when it was done, or nobody said."""
        return self.result if self.result is not None and not self.result.ok else None


@dataclass(slots=True)
class _PartialToolCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)

    def complete(self) -> ToolCall:
        raw = "".join(self.arguments) or "{}"
        try:
            args = json.loads(raw)
        except ValueError as exc:
            raise LlmError(f"tool call {self.name!r} has arguments that are not JSON: {raw[:120]!r}") from exc
        if not isinstance(args, dict):
            raise LlmError(f"tool call {self.name!r} arguments are not an object: {raw[:120]!r}")
        return ToolCall(self.id, self.name, args)


class ChatLlm:
    """One endpoint + model. The `openai.AsyncOpenAI` client is owned here and closed by `aclose`."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        temperature: float = 0.3,
        first_token_timeout_s: float = 4.0,
        stall_timeout_s: float = 4.0,
        max_tokens: int = 300,
        report_usage: bool = True,
    ) -> None:
        # No SDK retries: a retry after a timeout would leave the caller in silence for seconds;
        # the rule engine answering now is the better conversation.
        self._client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0,
                                          timeout=first_token_timeout_s + stall_timeout_s + 30)
        self.model = model
        self._temperature = temperature
        self._first_token_timeout = first_token_timeout_s
        self._stall_timeout = stall_timeout_s
        self._max_tokens = max_tokens
        # Ask for the token counts (`stream_options.include_usage`, as OpenAI, vLLM and Ollama serve it);
        # off for an endpoint that rejects the option.
        self._report_usage = report_usage

    async def __aenter__(self) -> Self:
        return self

    def warm_up(self) -> None:
        """Load the SDK's lazily imported chat modules now (~50 ms measured), not in a call's first turn."""
        _ = self._client.chat.completions

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.close()

    async def stream(
        self, messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] | None = None,
        *, tool_choice: str | None = None,
    ) -> AsyncIterator[TextDelta | ToolCall]:
        """Text deltas as they arrive, then the complete tool calls (if any), in index order.
        `tool_choice="none"` keeps the tools in view but asks for words only."""
        kwargs: dict[str, Any] = {}
        if tools:
            kwargs["tools"] = list(tools)
            if tool_choice:
                kwargs["tool_choice"] = tool_choice
        if self._report_usage:  # the last chunk then carries the request's token counts (no choices)
            kwargs["stream_options"] = {"include_usage": True}
        usage = current_usage()  # the call this request is made for, if any (media.usage)
        if usage is not None:
            usage.llm_requests += 1
        try:
            async with asyncio.timeout(self._first_token_timeout) as deadline:
                response = await self._client.chat.completions.create(
                    model=self.model, messages=list(messages), stream=True,
                    temperature=self._temperature, max_tokens=self._max_tokens, **kwargs,
                )
                calls: dict[int, _PartialToolCall] = {}
                async for chunk in response:
                    # After the first chunk, the limit becomes "no silence longer than stall_timeout".
                    deadline.reschedule(asyncio.get_running_loop().time() + self._stall_timeout)
                    if chunk.usage is not None and usage is not None:
                        usage.llm_tokens(chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0)
                    if not chunk.choices:
                        continue
                    delta = chunk.choices[0].delta
                    if delta.content:
                        yield TextDelta(delta.content)
                    for fragment in delta.tool_calls or ():
                        partial = calls.setdefault(fragment.index, _PartialToolCall())
                        partial.id = fragment.id or partial.id
                        if fragment.function is not None:
                            partial.name = fragment.function.name or partial.name
                            if fragment.function.arguments:
                                partial.arguments.append(fragment.function.arguments)
        except TimeoutError as exc:
            raise LlmError("the LLM endpoint did not answer in time") from exc
        except openai.OpenAIError as exc:
            raise LlmError(f"the LLM endpoint failed: {type(exc).__name__}: {exc}") from exc
        for index in sorted(calls):
            yield calls[index].complete()


# Sentence ends: . ! ? … followed by space/end. A dot between digits (Chilean thousands: 104.050)
# or after a common abbreviation is not an end.
_ABBREVIATIONS = ("sr", "sra", "srta", "dr", "dra", "n", "nro", "av", "depto", "etc", "aprox")
_END = re.compile(r"[.!?…]+[\"')\]»]*(?=\s)")


class SentenceSplitter:
    """Accumulates streamed text and releases whole sentences, ready for TTS."""

    def __init__(self, max_chars: int = 160) -> None:
        self._buffer = ""
        self._max_chars = max_chars  # a run-on clause is cut at a comma so TTS can start

    def feed(self, text: str) -> list[str]:
        self._buffer += text
        out: list[str] = []
        start = 0
        for match in _END.finditer(self._buffer):
            if self._is_abbreviation(self._buffer[start : match.start()]):
                continue
            sentence = self._buffer[start : match.end()].strip()
            if sentence:
                out.append(sentence)
            start = match.end()
        self._buffer = self._buffer[start:]
        if len(self._buffer) > self._max_chars and (cut := self._buffer.rfind(", ")) > 0:
            out.append(self._buffer[: cut + 1].strip())
            self._buffer = self._buffer[cut + 1 :]
        return out

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer.strip(), ""
        return [rest] if rest else []

    @staticmethod
    def _is_abbreviation(before: str) -> bool:
        words = before.rstrip().split()
        return bool(words) and words[-1].lower().strip("¿¡(\"'") in _ABBREVIATIONS


async def sentences(stream: AsyncIterator[TextDelta | ToolCall]) -> AsyncIterator[str | ToolCall]:
    """Regroup a token stream into sentences (for TTS) and tool calls (for the agent)."""
    splitter = SentenceSplitter()
    async for item in stream:
        if isinstance(item, TextDelta):
            for sentence in splitter.feed(item.text):
                yield sentence
        else:
            for sentence in splitter.flush():
                yield sentence
            yield item
    for sentence in splitter.flush():
        yield sentence
