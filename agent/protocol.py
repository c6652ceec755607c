"""An agent as the conversation loop drives it (text in, sentences and tool calls out), and the
fallback that answers a turn no brain could."""

from __future__ import annotations

from collections.abc import AsyncIterator

from agent.llm import ToolCall
from media.responder import Responder

__all__ = ["Agent", "AgentOutput", "FallbackAgent"]

AgentOutput = str | ToolCall  # a sentence to speak, or a tool for the call to execute


# The turn loop's interface to a brain (owned by `media`, which knows no agent): every agent here is one.
Agent = Responder


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

    def retract_last_reply(self) -> bool:
        return True  # keeps no history

    @property
    def finished(self) -> bool:
        return self._closing
