"""The LLM-backed agent: chat history and tools over an OpenAI-compatible model, with the rule
engine (or the fallback) answering any turn whose LLM call failed.

A turn is a function-calling loop. The model's sentences are spoken as they stream; its tool calls
go out as actions (`media.responder`), each carried out by the call before this generator resumes,
and come back to the model as `role: tool` messages answering the assistant message that carried
them (`tool_calls`, as the OpenAI wire format requires). The model is then asked again to go on,
up to `MAX_ROUNDS` requests a turn; the last one asks for words only (`tool_choice: none`), and a
closing tool (end_call, a transfer) ends the turn at once, except an end_call right after a refused
promise: that one is not carried out, the model is told so, and the negotiation goes on.

The guard: the model cannot confirm what the record refused. Whether a promise stands is known
only once register_promise came back, and models write "queda registrado" in the same message as
the tool call, before it runs. So a sentence that claims a registration ("registrado", "quedó
anotado", ...; a negated one is not a claim) is held, with everything after it in that round,
until the round's tools have run; it is then spoken only if the call's latest register_promise
was accepted. Otherwise it is not spoken: the first such sentence after a refusal is replaced by
the refusal explained in the flow's words (`agent.prompts.refusal_words`), and a claim with no
promise at all is dropped. The refusal itself reaches the model as the tool's result, with the
instruction to explain and negotiate again; the guard is what holds when the model ignores it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from agent.llm import ChatLlm, LlmError, ToolCall, sentences
from agent.prompts import PROMISE_NOT_REGISTERED
from agent.protocol import Agent, AgentOutput
from agent.vocabulary import ToolName
from media.responder import ActionResult
from media.text import fold

log = logging.getLogger(__name__)
# The tools after which the model's conversation is over (the call ends, or a person takes it).
# A sales call's record_lead is its last act, said after the goodbye (agent.sales.prompt).
CLOSING_TOOLS = frozenset({ToolName.END_CALL, ToolName.TRANSFER_TO_AGENT, ToolName.RECORD_LEAD})
MAX_ROUNDS = 3  # model requests per turn: the answer, and two more after tool results (the last: words only)
# A sentence saying a promise was recorded (folded text).
_CLAIM_RE = re.compile(
    r"\bregistrad[oa]s?\b|\bregistre\b|\bhe registrado\b|\banotad[oa]s?\b|\banote\b|\bingresad[oa]\b"
    r"|\bqued\w* (?:\w+ ){0,3}(?:confirmad|guardad|agendad[oa] su (?:pago|compromiso|promesa))\w*"
    r"|\bconfirmad[oa] (?:su|el|la) (?:compromiso|promesa|pago)\b")
_NEGATED_RE = re.compile(r"\bno\b(?:\s+\S+){0,3}\s*$")
KEPT_OPEN = "not carried out: register_promise was refused in this turn, so the call goes on; negotiate again"
REFUSED_NOTE = ("La promesa NO quedó registrada. No digas que quedó registrada: explica el motivo al cliente con "
                "palabras simples y negocia otra fecha o monto dentro de los límites.")


def claims_registration(sentence: str) -> bool:
    """Whether `sentence` says a promise was recorded ("quedó registrado"; not "no quedó registrado")."""
    text = fold(sentence)
    match = _CLAIM_RE.search(text)
    return match is not None and not _NEGATED_RE.search(text[: match.start()])


class LlmAgent:
    """Chat history + an OpenAI-compatible model; a failed turn is answered by `fallback`."""

    def __init__(
        self,
        llm: ChatLlm,
        system_prompt: str,
        fallback: Agent,
        tools: Sequence[Mapping[str, Any]] | None = None,
        *,
        explain_refusal: Callable[[ActionResult], str] | None = None,
    ) -> None:
        self._llm = llm
        self._fallback = fallback
        self._tools = list(tools or [])
        self._explain = explain_refusal or (lambda result: PROMISE_NOT_REGISTERED)
        self.history: list[dict[str, Any]] = [{"role": "system", "content": system_prompt}]
        self._closed = False
        self._promise: ToolCall | None = None  # the call's latest register_promise, once it came back
        self._turn: list[tuple[dict[str, Any], str]] = []  # this turn's assistant messages and what they said
        self._before_reply: tuple[int, ToolCall | None, bool] | None = None  # to retract the last turn
        self._fallback_answered = False  # the rule engine answered the last turn (the model failed)

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

    # ---------------------------------------------------------------- a turn: the function-calling loop
    def _handed_over(self) -> bool:
        """The fallback took the call over for good: an inbound caller's RUT agent identified them during a
        turn the model failed, and the debtor's own agent (with its own prompt) now runs the call."""
        return getattr(self._fallback, "identified_agent", None) is not None

    async def reply(self, user_text: str) -> AsyncIterator[AgentOutput]:
        if self._handed_over():
            async for item in self._fallback.reply(user_text):
                yield item
            return
        self._before_reply = (len(self.history), self._promise, self._closed)
        self._fallback_answered = False
        self.history.append({"role": "user", "content": user_text})
        self._turn = []
        explained = False  # the refusal was said this turn: a second claim is dropped, not explained again
        acted = False  # something was said or done this turn (a failure then keeps it, no fallback)
        promised = False  # a register_promise came back this turn
        try:
            for round_no in range(MAX_ROUNDS):
                said: list[str] = []
                calls: list[ToolCall] = []
                ran: set[str] = set()  # the calls this generator resumed after: carried out (or nobody ran them)
                held: list[str] = []  # from an unbacked claim on, until this round's tools have run
                last = round_no == MAX_ROUNDS - 1
                try:
                    stream = self._llm.stream(self.history, tools=self._tools or None,
                                              tool_choice="none" if last and self._tools else None)
                    async for item in sentences(stream):
                        if isinstance(item, str):
                            if held or (claims_registration(item) and not self._promise_stands()):
                                held.append(item)
                                continue
                            said.append(item)
                            yield item
                            continue
                        calls.append(item)
                        if item.name == ToolName.END_CALL and promised and self._refusal() is not None:
                            # Hanging up on a promise just refused would leave the debtor with the refusal
                            # and no way on: the call goes on, and the model is told why.
                            item.result = ActionResult(False, KEPT_OPEN)
                            ran.add(item.id)
                            continue
                        if item.name in CLOSING_TOOLS:
                            self._closed = True
                        yield item  # the call carries it out here; its result is on it when we resume
                        ran.add(item.id)
                        if item.name == ToolName.REGISTER_PROMISE:
                            self._promise, promised = item, True
                    for sentence in held:
                        if not claims_registration(sentence) or self._promise_stands():
                            said.append(sentence)
                            yield sentence
                        elif (refusal := self._refusal()) is not None and not explained:
                            explained = True
                            said.append(self._explain(refusal))
                            yield said[-1]
                        # else: a claim with nothing behind it is not spoken
                finally:
                    self._remember(said, calls, ran)
                    acted = acted or bool(said or calls)
                if not calls or self._closed:
                    break
        except LlmError as exc:
            log.warning("LLM failed this turn, falling back: %s", exc)
            if (refusal := self._refusal()) is not None and promised and not explained:
                line = self._explain(refusal)
                self._remember([line], [], set())
                yield line
            elif not acted:  # mid-answer failures keep what was said; a fresh one gets the fallback
                async for item in self._fallback_turn(self._fallback.reply(user_text)):
                    yield item

    async def keys(self, entry: str) -> AsyncIterator[AgentOutput]:
        """'0' always reaches a person, whatever the model thinks; other keys are told to the model."""
        if entry == "0" or self._handed_over():
            self._before_reply = None  # the rule engine acted: a key is never a pause anyway
            async for item in self._fallback_turn(self._fallback.keys(entry)):
                yield item
            return
        async for item in self.reply(f"(El cliente marcó en el teclado: {entry})"):
            yield item

    def retract_last_reply(self) -> bool:
        """The last turn was a pause (`media.responder`): the model never saw it. A turn the rule engine
        answered (the model failed) is its to undo as well."""
        if self._handed_over():
            return self._fallback.retract_last_reply()
        if self._before_reply is None:
            return False
        length, self._promise, self._closed = self._before_reply
        del self.history[length:]
        self._turn = []
        self._before_reply = None
        return self._fallback.retract_last_reply() if self._fallback_answered else True

    async def _fallback_turn(self, items: AsyncIterator[AgentOutput]) -> AsyncIterator[AgentOutput]:
        """The fallback's answer, passed through (the same objects: it reads its tools' results), and kept
        in the model's history as what was said."""
        self._fallback_answered = True
        said: list[str] = []
        try:
            async for item in items:
                if isinstance(item, str):
                    said.append(item)
                else:
                    if item.name in CLOSING_TOOLS:
                        self._closed = True
                    if item.name == ToolName.REGISTER_PROMISE:
                        self._promise = item
                yield item
        finally:
            self._remember(said, [], set())

    # ---------------------------------------------------------------- the guard's state
    def _promise_stands(self) -> bool:
        """A promise was registered and the record did not refuse it (`result` None: nobody refused it)."""
        return self._promise is not None and self._promise.refusal() is None

    def _refusal(self) -> ActionResult | None:
        return self._promise.refusal() if self._promise is not None else None

    # ---------------------------------------------------------------- the history
    def _remember(self, said: list[str], calls: list[ToolCall], ran: set[str]) -> None:
        """One round in the model's history: what was said, the tool calls, and each call's result."""
        text = " ".join(said)
        if not text and not calls:
            return
        message: dict[str, Any] = {"role": "assistant", "content": text or ("" if not calls else None)}
        if calls:
            message["tool_calls"] = [{"id": c.id, "type": "function",
                                      "function": {"name": str(c.name),
                                                   "arguments": json.dumps(c.arguments, ensure_ascii=False)}}
                                     for c in calls]
        self.history.append(message)
        self._turn.append((message, text))
        for call in calls:
            self.history.append({"role": "tool", "tool_call_id": call.id, "content": _tool_message(call, ran)})

    def correct_last_reply(self, spoken: str) -> None:
        """After a barge-in: this turn's assistant messages keep only what was heard, in order."""
        if self._handed_over():
            self._fallback.correct_last_reply(spoken)
            return
        heard = spoken
        for message, text in self._turn:
            if heard.startswith(text) and text:
                heard = heard[len(text):].lstrip()
                continue
            message["content"] = heard or ("" if "tool_calls" not in message else None)
            heard = ""

    @property
    def keys_expected(self) -> int:
        return self._fallback.keys_expected

    @property
    def finished(self) -> bool:
        return self._closed or (self._handed_over() and self._fallback.finished)


def _tool_message(call: ToolCall, ran: set[str]) -> str:
    """The `role: tool` content the model reads for `call`."""
    if call.id not in ran:
        return "not carried out: the caller interrupted before it ran"
    result = call.result or ActionResult.UNRECORDED
    if call.name == ToolName.REGISTER_PROMISE and not result.ok:
        return f"{result.text}. {REFUSED_NOTE}"
    return result.text
