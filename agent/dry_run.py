"""The agent's tools run against the debtor's facts, with no database: the record's stand-in.

The simulator (`agent.simulate`) and tests drive an agent with no call and no PostgreSQL, yet a
promise the record would refuse must be refused there too, or a simulated conversation would
confirm what a real call cannot. `promise_refusal` is the agent side's one definition of the bounds
`campaigns.actions.CallActions.register_promise` applies (that method, on the database, remains the
authority; `campaigns` may not import this): an amount above zero, a date not past and not after
the debt's maximum date, and no more than the debt, a plan counting its total. `DryRunRecord` runs
any tool call through them and answers as the call's runner does (`ari_app.calls.tools`): a typed
`media.responder.ActionResult`, the same codes (`agent.vocabulary.Refusal`) and the same texts.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from agent.flow import DebtorFacts
from agent.llm import ToolCall
from agent.tools import RegisterPromise, ScheduleCallback, ToolArgumentError, command_from
from agent.vocabulary import Refusal
from media.responder import ActionResult

__all__ = ["DryRunRecord", "promise_refusal"]


def promise_refusal(promised_date: date, amount: Decimal | int, *, today: date, max_date: date | None,
                    amount_owed: Decimal | int | None, installments: int | None = None,
                    installment_amount: Decimal | int | None = None) -> ActionResult | None:
    """Why the record would refuse this promise (`amount` is what it covers in all), None if it takes it."""
    if amount <= 0 or (installment_amount is not None and installment_amount <= 0):
        return ActionResult.refused(Refusal.AMOUNT, "the amount promised must be more than zero")
    if installment_amount is not None and not installments:
        return ActionResult.refused(Refusal.INSTALLMENTS, "an instalment amount needs the number of instalments")
    if promised_date < today:
        return ActionResult.refused(Refusal.DATE_PAST, f"{promised_date} has already passed")
    if max_date is not None and promised_date > max_date:
        return ActionResult.refused(Refusal.DATE_AFTER_MAX, f"the debt must be paid by {max_date}",
                                     max_date.isoformat())
    if amount_owed is not None and amount > amount_owed:
        return ActionResult.refused(Refusal.AMOUNT_OVER_DEBT, f"the debt is {amount_owed}", str(amount_owed))
    return None


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
            return ActionResult(False, f"refused: {exc}", Refusal.BAD_ARGUMENTS, str(exc))
        if isinstance(command, RegisterPromise):
            refusal = promise_refusal(command.promised_date, command.amount, today=self._now.date(),
                                      max_date=self._facts.max_date, amount_owed=self._facts.amount_owed,
                                      installments=command.installments,
                                      installment_amount=command.installment_amount)
            if refusal is not None:
                return refusal
            self._promises += 1
            return ActionResult.done(command.reply(self._promises))
        if isinstance(command, ScheduleCallback):  # booked as asked (the record moves it into the law's hours)
            return ActionResult.done(command.reply(command.when))
        return ActionResult.done(command.reply(None))
