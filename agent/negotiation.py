"""What a flow may agree to, and whether a debtor's proposal fits: the negotiation as data and rules.

A flow's `[negotiation]` table (agent/flows/*.toml) holds its limits, as docs/dialogue-spec.md sets
them per delinquency stage: the least part payment, the most instalments and the least instalment
(as shares of the balance), a discount for paying the whole balance at once within some days of
the call, and the order in which the agent offers full payment, instalments and a part payment.
`Negotiator` checks a proposal against them (and the debt's maximum date) and, when it does not
fit, says what to counter with: the closest deal inside the limits. It knows no words; the rule
engine turns each `Verdict` into the flow's prompts.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from agent.record_bounds import amount_refusal, date_refusal
from agent.vocabulary import Refusal

__all__ = ["Deal", "Negotiator", "Offer", "Terms", "Verdict", "VerdictKind"]


class Offer(enum.StrEnum):
    FULL = "full"  # the whole balance (less the flow's discount, if it has one) on one date
    INSTALLMENTS = "installments"
    PARTIAL = "partial"


@dataclass(frozen=True, slots=True)
class Terms:
    """A flow's limits. Shares are fractions of the balance (0.5 = 50 %)."""

    partial_minimum: float = 0.5
    max_installments: int = 3
    installment_minimum: float = 0.30
    discount: float = 0.0  # off the whole balance paid at once
    discount_days: int = 0  # ... within this many days of the call
    offers: tuple[Offer, ...] = (Offer.FULL, Offer.PARTIAL, Offer.INSTALLMENTS)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, source: str = "flow") -> Terms:
        """The `[negotiation]` table; ValueError naming what is wrong."""
        if not data:
            return cls()
        default = cls()
        try:
            terms = cls(
                partial_minimum=float(data.get("partial_minimum", default.partial_minimum)),
                max_installments=int(data.get("max_installments", default.max_installments)),
                installment_minimum=float(data.get("installment_minimum", default.installment_minimum)),
                discount=float(data.get("discount", 0.0)),
                discount_days=int(data.get("discount_days", 0)),
                offers=tuple(Offer(o) for o in data.get("offers", [o.value for o in default.offers])),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{source}: [negotiation] {exc}") from exc
        shares = (terms.partial_minimum, terms.installment_minimum, terms.discount)
        if not all(0 <= share < 1 for share in shares) or terms.max_installments < 1:
            raise ValueError(f"{source}: [negotiation] shares must be fractions below 1, max_installments >= 1")
        return terms


@dataclass(frozen=True, slots=True)
class Deal:
    """What the debtor agreed to, ready to be read back: one payment, or a plan."""

    day: date  # the payment's date, or the first instalment's
    amount: int  # the payment; for a plan, each instalment
    installments: int | None = None
    discount: float = 0.0  # the flow's discount, when the payment settles the balance with it

    def total(self) -> int:
        return self.amount * (self.installments or 1)


class VerdictKind(enum.StrEnum):
    OK = "ok"
    OVER_BALANCE = "over_balance"  # more than is owed: the balance is said
    TOO_LATE = "too_late"  # after the debt's maximum date: that date is offered
    PAST = "past"  # a date already gone: asked again
    PARTIAL_TOO_LOW = "partial_too_low"  # countered with the least part payment
    PLAN_OUTSIDE = "plan_outside"  # countered with the closest plan inside the limits


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: VerdictKind
    counter: Deal | None = None  # the deal the agent offers instead, when there is one


class Negotiator:
    """The limits of one call: the flow's terms, the debtor's balance and maximum date, today."""

    def __init__(self, terms: Terms, balance: int | None, max_date: date | None, today: date) -> None:
        self.terms = terms
        self.balance = balance
        self.max_date = max_date
        self.today = today

    # -------------------------------------------------------------- figures the prompts say
    @property
    def has_discount(self) -> bool:
        return self.terms.discount > 0 and self.terms.discount_days > 0 and self.balance is not None

    @property
    def discount_deadline(self) -> date:
        deadline = self.today + timedelta(days=self.terms.discount_days)
        return min(deadline, self.max_date) if self.max_date else deadline

    def discounted_balance(self) -> int:
        assert self.balance is not None
        return math.ceil(self.balance * (1 - self.terms.discount))

    def partial_minimum(self) -> int:
        return math.ceil((self.balance or 0) * self.terms.partial_minimum)

    def installment_amount(self, count: int) -> int:
        """Each instalment when the balance is split in `count`, rounded up to the peso (the spec)."""
        return math.ceil((self.balance or 0) / count)

    def largest_plan(self) -> int:
        """The most instalments the flow allows with each at least its minimum share."""
        if self.balance is None or self.terms.installment_minimum <= 0:
            return self.terms.max_installments
        by_size = int(1 / self.terms.installment_minimum + 1e-9)
        return max(1, min(self.terms.max_installments, by_size))

    def next_offer(self, declined: int) -> Offer | None:
        """The offer after `declined` refusals (the first, full payment, is made by stating the debt)."""
        offers = self.terms.offers
        return offers[declined] if declined < len(offers) else None

    # -------------------------------------------------------------- checking a proposal
    def full_payment(self, day: date, *, with_discount: bool) -> Deal:
        """The whole balance on `day`: with the flow's discount if asked for and inside its window."""
        if with_discount and self.discount_applies(day):
            return Deal(day, self.discounted_balance(), discount=self.terms.discount)
        return Deal(day, self.balance or 0)

    def discount_applies(self, day: date) -> bool:
        return self.has_discount and day <= self.discount_deadline

    def is_discounted_total(self, amount: int) -> bool:
        return self.has_discount and abs(amount - self.discounted_balance()) <= max(1, (self.balance or 0) // 1000)

    def check_date(self, day: date) -> Verdict:
        """The record's date bounds (`agent.record_bounds`), checked before a promise is read back."""
        refused = date_refusal(day, today=self.today, max_date=self.max_date)
        if refused is None:
            return Verdict(VerdictKind.OK)
        return Verdict(VerdictKind.PAST if refused.code == Refusal.DATE_PAST else VerdictKind.TOO_LATE)

    def check(self, deal: Deal) -> Verdict:
        """Whether `deal` fits the flow and the debt; when not, the closest deal that does."""
        on_date = self.check_date(deal.day)
        if on_date.kind is not VerdictKind.OK:
            return on_date
        if self.balance is None:
            return Verdict(VerdictKind.OK)
        if deal.installments:
            return self._check_plan(deal)
        if amount_refusal(deal.amount, amount_owed=self.balance) is not None:
            return Verdict(VerdictKind.OVER_BALANCE, Deal(deal.day, self.balance))
        if deal.discount and not self.discount_applies(deal.day):
            return Verdict(VerdictKind.OVER_BALANCE, Deal(deal.day, self.balance))
        if deal.amount < self.balance and not deal.discount and deal.amount < self.partial_minimum():
            return Verdict(VerdictKind.PARTIAL_TOO_LOW, Deal(deal.day, self.partial_minimum()))
        return Verdict(VerdictKind.OK)

    def _check_plan(self, deal: Deal) -> Verdict:
        assert deal.installments and self.balance is not None
        largest = self.largest_plan()
        if deal.installments > largest:
            return Verdict(VerdictKind.PLAN_OUTSIDE, self.plan(largest, deal.day))
        return Verdict(VerdictKind.OK)

    def plan(self, count: int, first: date) -> Deal:
        """The balance split in `count` instalments, the first on `first`."""
        return Deal(first, self.installment_amount(count), installments=count)
