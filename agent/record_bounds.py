"""The bounds the debtor's record puts on a promise, as the agent side knows them: one definition.

`campaigns.actions.CallActions.register_promise` applies them to the debtor's row, and remains the
authority; the agent side checks the same bounds in two places: the rule engine's negotiation,
before it reads a promise back (`agent.negotiation.Negotiator`), and the record's stand-in of the
simulator (`agent.dry_run`). This module imports only the vocabulary and `ActionResult`, so the
domain may import it (tests/unit/test_layout.py).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from agent.vocabulary import Refusal
from media.responder import ActionResult

__all__ = ["amount_refusal", "date_refusal", "promise_refusal"]


def date_refusal(promised_date: date, *, today: date, max_date: date | None) -> ActionResult | None:
    """A date gone by, or after the debt's maximum date; None when the record takes it."""
    if promised_date < today:
        return ActionResult.refused(Refusal.DATE_PAST, f"{promised_date} has already passed")
    if max_date is not None and promised_date > max_date:
        return ActionResult.refused(Refusal.DATE_AFTER_MAX, f"the debt must be paid by {max_date}",
                                    max_date.isoformat())
    return None


def amount_refusal(amount: Decimal | int, *, amount_owed: Decimal | int | None) -> ActionResult | None:
    """More than the debt (`amount` is what the promise covers in all: a plan's total)."""
    if amount_owed is not None and amount > amount_owed:
        return ActionResult.refused(Refusal.AMOUNT_OVER_DEBT, f"the debt is {amount_owed}", str(amount_owed))
    return None


def promise_refusal(promised_date: date, amount: Decimal | int, *, today: date, max_date: date | None,
                    amount_owed: Decimal | int | None, installments: int | None = None,
                    installment_amount: Decimal | int | None = None) -> ActionResult | None:
    """Why the record would refuse this promise (`amount` is what it covers in all), None if it takes it;
    in the record's order."""
    if amount <= 0 or (installment_amount is not None and installment_amount <= 0):
        return ActionResult.refused(Refusal.AMOUNT, "the amount promised must be more than zero")
    if installment_amount is not None and not installments:
        return ActionResult.refused(Refusal.INSTALLMENTS, "an instalment amount needs the number of instalments")
    return (date_refusal(promised_date, today=today, max_date=max_date)
            or amount_refusal(amount, amount_owed=amount_owed))
