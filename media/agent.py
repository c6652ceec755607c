"""The agent seen from the media pipeline: text in, sentences and tool calls out.

The collections agent itself (flows, identity check, negotiation, the built-in rule engine) is
issue #5; here is the interface the conversation loop drives, an LLM-backed implementation,
and the fallback the loop uses for a turn whose LLM call failed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol

from media.llm import ChatLlm, LlmError, ToolCall, sentences

log = logging.getLogger(__name__)

AgentOutput = str | ToolCall  # a sentence to speak, or a tool for the call to execute


class Agent(Protocol):
    def greeting(self) -> str: ...

    def reply(self, user_text: str) -> AsyncIterator[AgentOutput]: ...

    def keys(self, entry: str) -> AsyncIterator[AgentOutput]:
        """The caller's DTMF entry (`media.keypad`): a menu key, or digits such as a RUT."""

    @property
    def keys_expected(self) -> int:
        """How many keys complete an entry now without '#' (1: a menu answer acts at once)."""

    def reprompt(self) -> str: ...

    def farewell(self) -> str: ...

    def correct_last_reply(self, spoken: str) -> None:
        """After a barge-in: remember only what the caller actually heard."""

    @property
    def finished(self) -> bool:
        """True once the agent has closed the conversation: the loop hangs up after its last words."""


class FallbackAgent:
    """What the caller hears when no brain can answer this turn: never silence, never a guess."""

    def __init__(self, greeting: str, *, closing: bool = False) -> None:
        self._greeting = greeting
        self._closing = closing  # the greeting is all there is to say: the call ends after it

    def greeting(self) -> str:
        return self._greeting

    async def reply(self, user_text: str) -> AsyncIterator[AgentOutput]:
        yield "Disculpe, no le entendí bien. ¿Me lo puede repetir, por favor?"

    async def keys(self, entry: str) -> AsyncIterator[AgentOutput]:
        async for item in self.reply(entry):
            yield item

    @property
    def keys_expected(self) -> int:
        return 1

    def reprompt(self) -> str:
        return "¿Aló? ¿Me escucha?"

    def farewell(self) -> str:
        return "Como no le escucho, voy a cortar. Le volveremos a llamar. Que tenga un buen día."

    def correct_last_reply(self, spoken: str) -> None:
        pass  # keeps no history

    @property
    def finished(self) -> bool:
        return self._closing


class LlmAgent:
    """Chat history + an OpenAI-compatible model; a failed turn is answered by `fallback`."""

    def __init__(
        self,
        llm: ChatLlm,
        system_prompt: str,
        fallback: Agent,
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        self._llm = llm
        self._fallback = fallback
        self._tools = list(tools or [])
        self.history: list[dict[str, Any]] = [{"role": "system", "content": system_prompt}]
        self._closed = False

    def greeting(self) -> str:
        text = self._fallback.greeting()
        self.history.append({"role": "assistant", "content": text})
        return text

    def reprompt(self) -> str:
        return self._fallback.reprompt()

    def identified(self) -> list[str]:
        """An inbound caller identified by RUT: the rule engine's opening lines, which the model then
        continues from (it is told, so it does not ask for the identity again)."""
        lines: list[str] = self._fallback.identified()  # type: ignore[attr-defined]  # a debtor's RuleAgent
        self.history.append({"role": "system", "content": "El cliente ya se identificó con su RUT."})
        self.history.append({"role": "assistant", "content": " ".join(lines)})
        return lines

    def farewell(self) -> str:
        return self._fallback.farewell()

    async def reply(self, user_text: str) -> AsyncIterator[AgentOutput]:
        self.history.append({"role": "user", "content": user_text})
        said: list[str] = []
        try:
            async for item in sentences(self._llm.stream(self.history, tools=self._tools or None)):
                if isinstance(item, str):
                    said.append(item)
                elif item.name in ("end_call", "transfer_to_agent"):
                    self._closed = True
                yield item
        except LlmError as exc:
            log.warning("LLM failed this turn, falling back: %s", exc)
            if not said:  # mid-answer failures keep what was said; a fresh one gets the fallback
                async for item in self._fallback.reply(user_text):
                    if isinstance(item, str):
                        said.append(item)
                    yield item
        finally:
            # What was *generated*; the conversation loop corrects it to what was heard on barge-in.
            self.history.append({"role": "assistant", "content": " ".join(said)})

    async def keys(self, entry: str) -> AsyncIterator[AgentOutput]:
        """'0' always reaches a person, whatever the model thinks; other keys are told to the model."""
        if entry == "0":
            async for item in self._fallback.keys(entry):
                if isinstance(item, ToolCall) and item.name == "transfer_to_agent":
                    self._closed = True
                yield item
            return
        async for item in self.reply(f"(El cliente marcó en el teclado: {entry})"):
            yield item

    @property
    def keys_expected(self) -> int:
        return self._fallback.keys_expected

    def correct_last_reply(self, spoken: str) -> None:
        if self.history and self.history[-1]["role"] == "assistant":
            self.history[-1]["content"] = spoken

    @property
    def finished(self) -> bool:
        return self._closed
