"""The agent's tools run against the debtor's facts, with no database: the record's stand-in.

The simulator (`agent.simulate`) and tests drive an agent with no call and no PostgreSQL, yet a
promise the record would refuse must be refused there too, or a simulated conversation would
confirm what a real call cannot. `DryRunRecord` runs any tool call through the bounds
`campaigns.actions.CallActions.register_promise` applies (`agent.record_bounds`: an amount above
zero, a date not past and not after the debt's maximum date, no more than the debt, a plan counting
its total; a payment link only where the company sends them), and answers as the call's runner does (`ari_app.calls.tools`): a typed
`media.responder.ActionResult`, the same codes (`agent.vocabulary.Refusal`) and the same texts.
"""

from __future__ import annotations

from datetime import datetime

from agent.flow import DebtorFacts
from agent.llm import ToolCall
from agent.record_bounds import promise_refusal
from agent.tools import RegisterPromise, ScheduleCallback, SendPaymentLink, ToolArgumentError, command_from
from agent.vocabulary import Refusal
from media.responder import ActionResult

__all__ = ["DryRunRecord"]


class DryRunRecord:
    """One debtor's record, as far as the tools go, on a fixed clock; every tool run is kept in order."""

    def __init__(self, facts: DebtorFacts, now: datetime) -> None:
        self._facts = facts
        self._now = now
        self.runs: list[tuple[ToolCall, ActionResult]] = []
        self._promises = 0

    async def run(self, call: ToolCall) -> ActionResult:
        """The call's `media.reply.ToolSink`, for a simulated call."""
        result = self._result(call)
        self.runs.append((call, result))
        return result

    def _result(self, call: ToolCall) -> ActionResult:
        try:
            command = command_from(call)
        except ToolArgumentError as exc:
            return exc.result()
        if isinstance(command, RegisterPromise):
            refusal = promise_refusal(command.promised_date, command.amount, today=self._now.date(),
                                      max_date=self._facts.max_date, amount_owed=self._facts.amount_owed,
                                      installments=command.installments,
                                      installment_amount=command.installment_amount)
            if refusal is not None:
                return refusal
            self._promises += 1
            return ActionResult.done(command.reply(self._promises))
        if isinstance(command, SendPaymentLink) and not self._facts.payment_link_via:
            return ActionResult.refused(Refusal.NO_PAYMENT_CHANNEL, "the debtor's company sends no payment links")
        if isinstance(command, ScheduleCallback):  # booked as asked (the record moves it into the law's hours)
            return ActionResult.done(command.reply(command.when))
        return ActionResult.done(command.reply(None))
