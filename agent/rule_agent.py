"""The built-in collections agent: a small state machine over the flow's prompts and `agent.nlu`.

It runs when no LLM is configured, and answers any turn the LLM fails. Its order is the law's
and the user's: identity first (no debt detail to whoever picks up), then the legal notice and
the debt, then the negotiation, which ends in one of the tools: a promise (confirmed back to the
debtor before it is registered), a callback, a transfer, a payment link, or a closing result.
Repeated misunderstanding steers to a human, as an explicit request does.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, timedelta

from agent.flow import DebtorFacts, Flow, spoken_date
from agent.llm import ToolCall
from agent.nlu.intents import Intent, Understanding, understand
from agent.nlu.keys import menu_choice
from agent.protocol import AgentOutput
from agent.vocabulary import CallResult, ToolName

MAX_NOT_UNDERSTOOD = 2  # the third misunderstanding in a row goes to a human
# Tools that record the call's result: a closing end_call would overwrite it.
RESULT_TOOLS = frozenset({ToolName.REGISTER_PROMISE, ToolName.SCHEDULE_CALLBACK, ToolName.REPORT_WRONG_NUMBER,
                          ToolName.STOP_CALLING, ToolName.TRANSFER_TO_AGENT, ToolName.END_CALL})


class Step(enum.StrEnum):
    IDENTITY = "identity"
    OFFER_CALLBACK = "offer_callback"  # back from a transfer no person answered
    NOT_THE_DEBTOR = "not_the_debtor"
    NEGOTIATE = "negotiate"
    CONFIRM_PROMISE = "confirm_promise"
    DONE = "done"


class RuleAgent:
    def __init__(self, flow: Flow, facts: DebtorFacts, *, clock: Callable[[], datetime],
                 agent_name: str = "Sofía", start: Step = Step.IDENTITY) -> None:
        self.flow = flow
        self.facts = facts
        self._clock = clock  # aware, in the debtor's zone
        self._vars = {**facts.variables(), "agent_name": agent_name}
        self.step = start
        self._last: list[str] = []
        self._not_understood = 0
        self._cannot_pay = 0
        self._promise_date: date | None = None
        self._promise_amount: int | None = None
        self._installments: int | None = None
        self._ids = itertools.count(1)

    # ---------------------------------------------------------------- the Agent interface
    def greeting(self) -> str:
        return self._remember([self._say("no_agent" if self.step is Step.OFFER_CALLBACK else "identity")])[0]

    def identified(self) -> list[str]:
        """The caller keyed or said their RUT (an inbound call): the identity question is answered."""
        self.step = Step.NEGOTIATE
        return self._remember([self._say("notice"), self._say("debt"), self._say("ask_date")])

    def reprompt(self) -> str:
        return self._say("reprompt")

    def farewell(self) -> str:
        return self._say("no_input_goodbye")

    def correct_last_reply(self, spoken: str) -> None:
        pass  # the state machine does not depend on what was heard, only on what was answered

    async def reply(self, user_text: str) -> AsyncIterator[AgentOutput]:
        heard = understand(user_text, self._clock())
        for item in self._decide(heard):
            yield item

    async def keys(self, entry: str) -> AsyncIterator[AgentOutput]:
        """The menu keys mean what the words do: 0 a person, 1 yes, 2 no."""
        for item in self._decide(menu_choice(entry)):
            yield item

    @property
    def keys_expected(self) -> int:
        return 1

    # ---------------------------------------------------------------- the steps
    def _decide(self, heard: Understanding) -> list[AgentOutput]:
        if self.step is Step.DONE:
            return []
        intent = heard.intent
        if intent is Intent.REPEAT and self._last:
            return list(self._last)
        # Wherever the conversation is, these are honoured at once.
        if intent is Intent.STOP_CALLING:
            return self._end([self._tool(ToolName.STOP_CALLING)], "stop_calling")
        if intent is Intent.WRONG_NUMBER:
            return self._end([self._tool(ToolName.REPORT_WRONG_NUMBER)], "wrong_number")
        if self.step is Step.OFFER_CALLBACK:  # before HUMAN: no person is there to take them now
            return self._offer_callback(heard)
        if intent is Intent.HUMAN:
            return self._transfer("the debtor asked for a person")
        handler = {Step.IDENTITY: self._identity, Step.NOT_THE_DEBTOR: self._not_the_debtor,
                   Step.NEGOTIATE: self._negotiate, Step.CONFIRM_PROMISE: self._confirm}[self.step]
        return handler(heard)

    def _identity(self, heard: Understanding) -> list[AgentOutput]:
        if heard.intent is Intent.CONFIRM or (heard.intent is Intent.PROMISE_TO_PAY and heard.confidence >= 0.5):
            self.step = Step.NEGOTIATE
            self._not_understood = 0
            told = [self._say("notice"), self._say("debt")]
            if heard.promise_date or heard.amount:
                # "Sí, soy yo; le pago cincuenta mil el quince": the notice and the debt come first (the
                # law), then the offer the debtor already made is read back, not asked for again.
                return told + self._collect_promise(heard)
            return self._remember([*told, self._say("ask_date")])
        if heard.intent is Intent.DENY:
            self.step = Step.NOT_THE_DEBTOR
            return self._remember([self._say("not_the_debtor")])
        if heard.intent is Intent.CALLBACK:
            return self._callback(heard)
        return self._misunderstood("identity_again")

    def _offer_callback(self, heard: Understanding) -> list[AgentOutput]:
        """No person answered the transfer: a person calls back (asking for one again is a yes)."""
        if heard.intent in (Intent.CONFIRM, Intent.HUMAN, Intent.CALLBACK):
            return self._callback(heard, default_after=timedelta(hours=2), reason="no agent answered the transfer")
        if heard.intent is Intent.DENY:
            return self._end([self._tool(ToolName.END_CALL, outcome=CallResult.NO_AGENT_AVAILABLE)], None)
        return self._misunderstood("no_agent", give_up=True)

    def _not_the_debtor(self, heard: Understanding) -> list[AgentOutput]:
        if heard.intent is Intent.DENY:
            return self._end([self._tool(ToolName.REPORT_WRONG_NUMBER)], "wrong_number")
        if heard.intent is Intent.CONFIRM:  # it is their number, they are not there: try again later
            return self._callback(heard, default_after=timedelta(hours=3))
        if heard.intent is Intent.CALLBACK:
            return self._callback(heard)
        return self._misunderstood("not_the_debtor")

    def _negotiate(self, heard: Understanding) -> list[AgentOutput]:
        intent = heard.intent
        if intent is Intent.CALLBACK:
            return self._callback(heard)
        if intent is Intent.ALREADY_PAID:
            return self._end([self._tool(ToolName.END_CALL, outcome=CallResult.ALREADY_PAID)], "already_paid",
                             goodbye=False)
        if intent is Intent.DISPUTE:
            return self._transfer("the debtor disputes the debt", prompt="dispute")
        if intent is Intent.PAYMENT_LINK:
            return self._remember([self._tool(ToolName.SEND_PAYMENT_LINK), self._say("payment_link"),
                                   self._say("ask_date")])
        if intent is Intent.CANNOT_PAY and heard.promise_date is None:
            self._cannot_pay += 1
            if self._cannot_pay > 1:
                return self._end([self._tool(ToolName.END_CALL, outcome=CallResult.CANNOT_PAY)], None)
            return self._remember([self._say("offer_installments")])
        if heard.promise_date or heard.amount or intent is Intent.PROMISE_TO_PAY:
            return self._collect_promise(heard)
        if intent is Intent.CONFIRM:
            return self._remember([self._say("ask_date")])
        return self._misunderstood("ask_date")

    def _collect_promise(self, heard: Understanding) -> list[AgentOutput]:
        self._not_understood = 0
        self._promise_date = heard.promise_date or self._promise_date
        self._promise_amount = heard.amount or self._promise_amount
        self._installments = heard.installments or self._installments
        if self._promise_date is None:
            return self._remember([self._say("ask_date")])
        if self.facts.max_date and self._promise_date > self.facts.max_date:
            self._promise_date = None
            return self._remember([self._say("promise_too_late")])
        if self._promise_amount is None:
            return self._remember([self._say("ask_amount")])
        self.step = Step.CONFIRM_PROMISE
        return self._remember([self._say("confirm_promise", promise_amount=str(self._promise_amount),
                                         promise_date=spoken_date(self._promise_date))])

    def _confirm(self, heard: Understanding) -> list[AgentOutput]:
        if heard.intent is Intent.CONFIRM:
            assert self._promise_date is not None and self._promise_amount is not None
            promise = self._tool(ToolName.REGISTER_PROMISE, date=self._promise_date.isoformat(),
                                 amount=self._promise_amount,
                                 **({"installments": self._installments} if self._installments else {}))
            return self._end([promise, self._say("promise_registered")], None)
        if heard.promise_date or heard.amount:
            self.step = Step.NEGOTIATE
            return self._collect_promise(heard)
        if heard.intent is Intent.DENY:
            self.step = Step.NEGOTIATE
            self._promise_date = self._promise_amount = None
            return self._remember([self._say("ask_date")])
        # Not understood: the promise stands, the question is asked again.
        self._not_understood += 1
        if self._not_understood > MAX_NOT_UNDERSTOOD:
            return self._transfer("the agent did not understand the debtor three times")
        return self._remember([self._say("not_understood"), *self._last[-1:]])

    # ---------------------------------------------------------------- endings
    def _callback(self, heard: Understanding, default_after: timedelta = timedelta(days=1),
                  reason: str = "") -> list[AgentOutput]:
        when = heard.callback_at or (self._clock() + default_after)
        booked = self._tool(ToolName.SCHEDULE_CALLBACK, when=when.isoformat(), reason=reason or heard.matched or "")
        said = self._say("callback_booked", callback_at=f"{spoken_date(when.date())} a las {when:%H:%M}")
        return self._end([booked, said], None)

    def _transfer(self, reason: str, prompt: str = "transfer") -> list[AgentOutput]:
        self.step = Step.DONE
        return self._remember([self._say(prompt), self._tool(ToolName.TRANSFER_TO_AGENT, reason=reason)])

    def _end(self, items: list[AgentOutput], prompt: str | None, *, goodbye: bool = True) -> list[AgentOutput]:
        """Finish: the tool(s), then a closing line. The call ends once it has been said (`finished`)."""
        self.step = Step.DONE
        out = list(items)
        if prompt:
            out.append(self._say(prompt))
        elif goodbye:
            out.append(self._say("goodbye"))
        if not any(isinstance(i, ToolCall) and i.name in RESULT_TOOLS for i in out):
            out.append(self._tool(ToolName.END_CALL, outcome=CallResult.COMPLETED))
        return self._remember(out)

    @property
    def finished(self) -> bool:
        """The conversation is over (the conversation loop hangs up after the last words)."""
        return self.step is Step.DONE

    def _misunderstood(self, prompt: str, *, give_up: bool = False) -> list[AgentOutput]:
        """Ask again; the third time a person takes over (or, when none can, the call ends politely)."""
        self._not_understood += 1
        if self._not_understood > MAX_NOT_UNDERSTOOD:
            if give_up:
                return self._end([self._tool(ToolName.END_CALL, outcome=CallResult.NOT_UNDERSTOOD)], None)
            return self._transfer("the agent did not understand the debtor three times")
        return self._remember([self._say("not_understood" if self._not_understood == 1 else prompt)])

    # ---------------------------------------------------------------- helpers
    def _say(self, key: str, **extra: str) -> str:
        return self.flow.say(key, {**self._vars, **extra})

    def _tool(self, name: ToolName, **arguments: object) -> ToolCall:
        return ToolCall(f"rule-{next(self._ids)}", name, dict(arguments))

    def _remember(self, items: list[AgentOutput]) -> list[AgentOutput]:
        self._last = [i for i in items if isinstance(i, str)]
        return items
