"""The LLM-backed agent: chat history and tools over an OpenAI-compatible model, with the rule
engine (or the fallback) answering any turn whose LLM call failed."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from agent.llm import ChatLlm, LlmError, ToolCall, sentences
from agent.protocol import Agent, AgentOutput
from agent.vocabulary import ToolName

log = logging.getLogger(__name__)
# The tools after which the model's conversation is over (the call ends, or a person takes it).
CLOSING_TOOLS = frozenset({ToolName.END_CALL, ToolName.TRANSFER_TO_AGENT})


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
                elif item.name in CLOSING_TOOLS:
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
                if isinstance(item, ToolCall) and item.name == ToolName.TRANSFER_TO_AGENT:
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
