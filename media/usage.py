"""What one call consumed of the speech and language engines, for its cost.

The engines are shared by every call in the process (one Whisper worker, one TTS engine, one LLM
client), so the conversation loop counts what it asks of them: the seconds of audio it sends to
the recogniser (speculative decodes included: they cost the same), the characters it sends to the
synthesiser, and the LLM requests with the tokens the endpoint reports. LLM requests are made deep
inside the agent (the identifying agent swaps in the debtor's own agent mid-call), so the call's
counter travels with the task that speaks (a context variable, set in the loop's reply task and
read by `agent.llm.ChatLlm`) instead of through every agent's constructor.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["CallUsage", "count_into", "current_usage"]


@dataclass
class CallUsage:
    stt_seconds: float = 0.0
    stt_requests: int = 0
    tts_chars: int = 0
    tts_requests: int = 0
    llm_requests: int = 0
    llm_prompt_tokens: int = 0
    llm_completion_tokens: int = 0

    def stt(self, seconds: float) -> None:
        self.stt_requests += 1
        self.stt_seconds += max(0.0, seconds)

    def tts(self, text: str) -> None:
        self.tts_requests += 1
        self.tts_chars += len(text)

    def llm_tokens(self, prompt: int, completion: int) -> None:
        self.llm_prompt_tokens += max(0, prompt)
        self.llm_completion_tokens += max(0, completion)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stt_seconds"] = round(self.stt_seconds, 3)
        return data


_current: ContextVar[CallUsage | None] = ContextVar("call_usage", default=None)


def count_into(usage: CallUsage | None) -> None:
    """Count the engine work done from here on in this task (and the tasks it starts) into `usage`.
    A task's context is its own copy: setting it never leaks into another call's tasks."""
    _current.set(usage)


def current_usage() -> CallUsage | None:
    return _current.get()
