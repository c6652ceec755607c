"""The rule engine's negotiation: from the debt stated to a promise or plan read back and confirmed.

A mixin of `agent.rule_agent.RuleAgent` (it uses the agent's `_say`, `_tool`, `_remember`, `_end`
...), kept apart so that each file reads as one thing: this one is the bargaining. What the flow
may agree to is `agent.negotiation` (limits as data); here are the words around it:

- agreeing to pay with no amount, once the debt was stated, is the whole balance ("ok, pago el
  lunes"); "con el descuento", or the discounted figure, is the whole balance less the flow's
  discount, inside its window;
- a date after the maximum is refused with the maximum offered (a yes takes it), a date gone by or
  unclear ("la otra semana", "el viernes 27" on a Thursday) is asked again;
- more than the balance is refused with the balance said; less than the flow's least part is
  countered with it; a plan outside the limits is countered with the largest plan inside them;
- "no puedo" / "no" to an offer moves to the flow's next offer, and past the last one the call
  ends without agreement;
- every deal is read back, and registered only on a yes; a correction at the read-back renegotiates;
- "quedó registrado" is said only once the record took the promise: one it refused (a date after the
  maximum, more than the debt, a date gone by) is explained, and the negotiation goes on from there.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from agent.flow import spoken_date
from agent.negotiation import Deal, Negotiator, Offer, VerdictKind
from agent.nlu.dates import prepare, promise_date_in
from agent.nlu.intents import Intent, Understanding
from agent.vocabulary import CallResult, Refusal, ToolName

if TYPE_CHECKING:
    from agent.llm import ToolCall
    from agent.protocol import AgentOutput
    from media.responder import ActionResult

_WHOLE_RE = re.compile(r"\b(?:todo|toda|total|completo|completa|la deuda|el saldo|de una vez|entero)\b")
_DISCOUNT_RE = re.compile(r"\b(?:descuento|rebaja)\b")
_DECLINE_RE = re.compile(r"^(?:no|nop|tampoco|ni|para nada|imposible)\b")
_YES_START_RE = re.compile(r"^(?:(?:y )?(?:si|ya|dale|bueno|ok|listo|claro|de una|perfecto|de acuerdo|vale|va)\b)")
_NOT_WHOLE_RE = re.compile(r"\b(?:todo|total|completo) no\b|\bno (?:\w+ )?(?:todo|el total|completo)\b"
                           r"|\b(?:ni|sin) (?:el |con el )?descuento\b")
_HALF_RE = re.compile(r"\bla mitad\b")
_LEAST_AMOUNT = 1_000  # below this a number is a count or a day, not pesos ("seis entonces")
_PAY_VERB_RE = re.compile(r"\b(?:pag|abon|deposit|transfier|cancel)\w*")


class DealSteps:
    """Negotiation state and steps; `RuleAgent` supplies the words and the tools."""

    negotiator: Negotiator
    _link_sent: bool  # set by RuleAgent: the payment link went out on this call

    def _reset_deal(self) -> None:
        self._day: date | None = None
        self._amount: int | None = None
        self._count: int | None = None
        self._with_discount = False
        self._offered: Offer | None = None  # the offer waiting for a yes
        self._offered_count: int | None = None
        self._max_date_offered = False
        self._declined = 1  # the debt stated is the first offer (full payment)
        self._deal: Deal | None = None
        self._next_week_said = False  # "la otra semana" was asked which day

    # -------------------------------------------------------------- the negotiation step
    def _negotiate(self, heard: Understanding, text: str) -> list[AgentOutput]:
        intent = heard.intent
        if intent is Intent.CALLBACK:
            return self._callback(heard)
        if intent is Intent.ALREADY_PAID:
            return self._end([self._tool(ToolName.END_CALL, outcome=CallResult.ALREADY_PAID)], "already_paid",
                             goodbye=False)
        if intent is Intent.DISPUTE:
            return self._end([self._tool(ToolName.END_CALL, outcome=CallResult.DISPUTE)], "dispute_noted")
        if intent is Intent.PAYMENT_LINK:
            return self._remember([*self._how_to_pay(), self._say("ask_date_short")])
        if intent is Intent.ASK_DEBT or (intent is Intent.GREETING and heard.matched == "greeting:quien"):
            answer = self._answer(text)
            if answer == self._last[:1] and (person := self._frustrated()):  # the same question again
                return person
            return self._remember([*answer, self._question()])
        if intent is Intent.GREETING:  # "¿aló?" mid-call: the line dropped for a moment
            return self._remember([self._current_question()])
        if intent is Intent.GOODBYE:
            return self._end([], "goodbye")
        if intent is Intent.CANNOT_PAY and heard.promise_date is None:
            said = self._said_date(text)
            if said is not None and (_PAY_VERB_RE.search(text) or heard.amount):  # "me quedé sin laburo... pasado mañana pago todo"
                return self._collect_promise(replace(heard, promise_date=said), text)
            return self._next_offer()
        if intent is Intent.NEGOTIATE and not heard.installments and not heard.amount:
            if _DECLINE_RE.search(text):
                return self._next_offer()
            if _DISCOUNT_RE.search(text) and self.negotiator.has_discount:
                self._with_discount = True
                return self._remember([self._say("discount_offer", **self._discount_vars()),
                                       self._say("ask_date_short")])
            return self._offer(Offer.INSTALLMENTS if "cuota" in text or "parte" in text else None)
        if heard.promise_date or heard.amount or heard.installments or heard.date_issue:
            return self._collect_promise(heard, text)
        if intent is Intent.PROMISE_TO_PAY:
            return self._collect_promise(heard, text)
        if intent is Intent.CONFIRM:
            return self._accept_offer(heard, text)
        if intent is Intent.DENY:
            return self._next_offer()
        return self._misunderstood("ask_date")

    def _question(self) -> str:
        """The question the negotiation waits on, to go back to after an answer."""
        if self._count and self._day is None:
            return self._say("ask_first_date")
        return self._say("ask_date_short")

    def _answer(self, text: str) -> list[AgentOutput]:
        """A question about the debt, answered from the record (never invented)."""
        facts = self.facts
        if "desde cuando" in text and facts.due_date:
            return [self._say("answer_since")]
        if re.search(r"\b(?:empresa|compania|banco|tienda|quien|donde|parte)\b", text):
            return [self._say("answer_company")]
        if re.search(r"\bde (?:que|donde)\b|\bque deuda\b|\bpor que\b", text) and facts.installments_owed:
            return [self._say("answer_what")]
        if re.search(r"\bcomo (?:\w+ )?pag|\bdonde (?:\w+ )?pag", text):
            return self._how_to_pay()
        return [self._say("answer_amount" if facts.amount_owed is not None else "answer_company")]

    def _how_to_pay(self) -> list[AgentOutput]:
        """The link, when the company has something that sends it; else what exists (a transfer's data,
        read slowly, or paying the company directly): never a message that will not come."""
        if self.facts.payment_link_via:
            if self._link_sent:  # "¿me lo manda?" again: one message is enough
                return [self._say("payment_link_again")]
            self._link_sent = True
            return [self._tool(ToolName.SEND_PAYMENT_LINK), self._say("payment_link")]
        return [self._say("pay_by_transfer" if self.facts.payment_instructions else "answer_how")]

    def _in_the_week_said(self, day: date, text: str) -> date:
        """"La otra semana" then "el miércoles": next week's Wednesday, not this one's."""
        today = self.negotiator.today
        next_monday = today + timedelta(days=7 - today.weekday())
        if self._next_week_said and day < next_monday and not re.search(r"\d", prepare(text)):
            day += timedelta(days=7)
        self._next_week_said = False
        return day

    def _thousands(self, numbers: list[str]) -> int | None:
        """"Ya, ciento ochenta entonces": haggling over a debt of hundreds of thousands, a bare number
        from 100 to 999 is thousands of pesos (no day, hour or count is that big)."""
        balance = self.negotiator.balance
        if not balance or balance < 100_000:
            return None
        said = [int(w) for w in numbers if w.isdigit() and 100 <= int(w) <= 999]
        if len(said) == 1 and said[0] * 1000 <= balance:
            return said[0] * 1000
        return None

    def _whole(self, text: str, amount: int | None) -> bool:
        """Whether the debtor means the whole balance ("lo pago todo"; not "todo no puedo")."""
        m = _WHOLE_RE.search(text)
        if m is None or _NOT_WHOLE_RE.search(text):
            return False
        n = self.negotiator
        return amount is None or n.balance is None or amount < n.partial_minimum() or amount >= n.balance

    def _said_date(self, text: str) -> date | None:
        """A payment day in words the NLU read as another intent ("no, el lunes, el viernes no me alcanza")."""
        return promise_date_in(prepare(text), self.negotiator.today)[0] if text else None

    def _discount_vars(self) -> dict[str, str]:
        return {"discount_date": spoken_date(self.negotiator.discount_deadline),
                "discounted_amount": str(self.negotiator.discounted_balance())}

    # -------------------------------------------------------------- offers
    def _next_offer(self) -> list[AgentOutput]:
        offer = self.negotiator.next_offer(self._declined)
        self._declined += 1
        if offer is None:
            return self._end([self._tool(ToolName.END_CALL, outcome=CallResult.CANNOT_PAY)], "cannot_pay_goodbye")
        if offer is Offer.FULL:
            return self._remember([self._say("ask_date")])
        return self._offer(offer)

    def _offer(self, offer: Offer | None) -> list[AgentOutput]:
        if offer is None:
            return self._next_offer()
        self._offered = offer
        if offer is Offer.INSTALLMENTS:
            self._offered_count = self.negotiator.largest_plan()
            return self._remember([self._say("offer_plan", **self._plan_vars(self._offered_count))])
        return self._remember([self._say("offer_partial", partial_minimum=str(self.negotiator.partial_minimum()))])

    def _plan_vars(self, count: int) -> dict[str, str]:
        return {"installments": str(count), "installment_amount": str(self.negotiator.installment_amount(count))}

    def _accept_offer(self, heard: Understanding, text: str) -> list[AgentOutput]:
        """A yes to what the agent offered last: that offer, still to be dated."""
        if self._max_date_offered and self.facts.max_date:
            self._day = self.facts.max_date
        elif self._offered is Offer.FULL:
            self._amount, self._count = None, None
        elif self._offered is Offer.INSTALLMENTS and self._offered_count:
            self._count, self._amount = self._offered_count, None
        elif self._offered is Offer.PARTIAL:
            self._amount, self._count = self.negotiator.partial_minimum(), None
        else:
            return self._remember([self._say("ask_date")])
        self._offered = None
        return self._settle()

    # -------------------------------------------------------------- a proposal
    def _collect_promise(self, heard: Understanding, text: str) -> list[AgentOutput]:
        self._not_understood = 0
        offered, self._offered = self._offered, None
        numbers = prepare(text).split()
        amount = heard.amount if heard.amount and heard.amount >= _LEAST_AMOUNT else None
        if amount is None and _HALF_RE.search(text) and self.negotiator.balance:  # "le pago la mitad"
            amount = -(-self.negotiator.balance // 2)
        if amount is None and not heard.installments:
            amount = self._thousands(numbers)
        if heard.installments:
            self._count = heard.installments
            self._amount = None
        elif self._whole(text, heard.amount):
            self._amount, self._count = None, None  # "le pago todo" outranks a stray "lucas"
        elif amount:
            self._amount, self._count = amount, None
        elif offered is Offer.INSTALLMENTS and self._offered_count and (
                str(self._offered_count) in numbers or "primera" in text or _YES_START_RE.search(text)):
            self._count, self._amount = self._offered_count, None  # "ya, seis entonces, la primera el 10"
        if _DISCOUNT_RE.search(text):
            self._with_discount = True
        if heard.date_issue == "past":
            self._day = None
            return self._remember([self._say("date_past")])
        if heard.date_issue:
            self._day = None
            self._next_week_said = heard.date_issue == "which_day"
            return self._remember([self._say("which_day")])
        if heard.promise_date:
            self._day = self._in_the_week_said(heard.promise_date, text)
            self._max_date_offered = False
        return self._settle()

    def _settle(self) -> list[AgentOutput]:
        """The proposal so far, checked: ask what is missing, counter what does not fit, or read it back."""
        n = self.negotiator
        if self._count:
            if self._count > n.largest_plan():
                self._offered, self._offered_count = Offer.INSTALLMENTS, n.largest_plan()
                self._count = None
                return self._remember([self._say("plan_counter", **self._plan_vars(self._offered_count))])
            if self._day is None:
                return self._remember([self._say("ask_first_date")])
        elif self._day is None:
            if self._amount is not None and n.balance is not None and self._amount < n.partial_minimum() \
                    and not n.is_discounted_total(self._amount):
                # "Puedo pasar cien lucas no más": too little is countered now, before asking when.
                self._amount, self._offered = None, Offer.PARTIAL
                return self._remember([self._say("partial_too_low", partial_minimum=str(n.partial_minimum()))])
            return self._remember([self._say("ask_date")])
        verdict = n.check_date(self._day)
        if verdict.kind is VerdictKind.PAST:
            self._day = None
            return self._remember([self._say("date_past")])
        if verdict.kind is VerdictKind.TOO_LATE:
            self._day, self._max_date_offered = None, True
            return self._remember([self._say("promise_too_late")])
        if self._count:
            return self._read_back(n.plan(self._count, self._day))
        if self._amount is None:
            if not self._debt_told or n.balance is None:
                return self._remember([self._say("ask_amount")])
            deal = n.full_payment(self._day, with_discount=self._with_discount)
            if self._with_discount and not deal.discount and n.has_discount:  # asked for it, out of its window
                read_back = self._read_back(deal)
                return self._remember([self._say("discount_window", **self._discount_vars()), *read_back])
        elif n.is_discounted_total(self._amount):
            deal = Deal(self._day, n.discounted_balance(), discount=n.terms.discount)
        else:
            deal = Deal(self._day, self._amount)
        verdict = n.check(deal)
        if verdict.kind is VerdictKind.OVER_BALANCE:
            self._amount, self._offered = None, Offer.FULL  # a yes now is the balance said
            return self._remember([self._say("over_balance")])
        if verdict.kind is VerdictKind.PARTIAL_TOO_LOW:
            self._amount, self._offered = None, Offer.PARTIAL
            return self._remember([self._say("partial_too_low", partial_minimum=str(n.partial_minimum()))])
        return self._read_back(deal)

    def _read_back(self, deal: Deal) -> list[AgentOutput]:
        self._deal = deal
        self.step = self.confirm_step
        when = spoken_date(deal.day)
        if deal.installments:
            return self._remember([self._say("confirm_plan", promise_date=when, installments=str(deal.installments),
                                             installment_amount=str(deal.amount))])
        return self._remember([self._say("confirm_promise", promise_amount=str(deal.amount), promise_date=when)])

    # -------------------------------------------------------------- the read-back
    def _confirm(self, heard: Understanding, text: str) -> list[AgentOutput]:
        if heard.intent is Intent.CONFIRM and not (heard.promise_date or heard.amount or heard.installments):
            if self._read_back_unheard:  # a yes over a read-back cut before it was heard: it again, first
                return self._remember(self._last[-1:])
            return self._register()
        said = heard.promise_date or self._said_date(text)
        if said or heard.amount or heard.installments or heard.date_issue:  # "no, el lunes mejor": renegotiate
            self.step = self.negotiate_step
            return self._collect_promise(replace(heard, promise_date=said), text)
        if heard.intent is Intent.DENY:
            self.step = self.negotiate_step
            self._day = self._amount = self._count = None
            return self._remember([self._say("ask_date")])
        if heard.intent is Intent.ASK_DEBT:
            return self._remember([*self._answer(text), *self._last[-1:]])
        self._not_understood += 1
        if self._not_understood > 2:
            return self._transfer("the agent did not understand the debtor three times")
        return self._remember([self._say("not_understood"), *self._last[-1:]])

    def _register(self) -> list[AgentOutput]:
        deal = self._deal
        assert deal is not None
        arguments: dict[str, object] = {"date": deal.day.isoformat(), "amount": deal.total()}
        if deal.installments:
            # `amount` is what the plan covers (the balance); each instalment is `installment_amount`.
            arguments.update(amount=self.negotiator.balance or deal.total(), installments=deal.installments,
                             installment_amount=deal.amount)
        if deal.discount:
            arguments["discount_percent"] = round(deal.discount * 100, 2)
        # The promise is carried out before the thanks is said; a refusal replaces it (`_refused`).
        return self._end([self._tool(ToolName.REGISTER_PROMISE, **arguments), self._say("promise_registered")], None)

    def _refused(self, tool: ToolCall, refusal: ActionResult) -> list[AgentOutput] | None:
        """The answer to a tool the record refused, instead of what was planned after it; None: go on."""
        if tool.name == ToolName.SEND_PAYMENT_LINK and refusal.code == Refusal.NO_PAYMENT_CHANNEL:
            self._learn(payment_link_via="")  # the gateway went away since the call began: say how else to pay
            return self._remember([*self._how_to_pay(), self._say("ask_date_short")])
        if tool.name != ToolName.REGISTER_PROMISE:
            return None
        self.step = self.negotiate_step
        self._deal = None
        # The record's bound is the one that holds (the debt may have changed since the call began).
        if refusal.code == Refusal.DATE_AFTER_MAX and (refusal.limit or self.facts.max_date):
            if refusal.limit:
                self._learn(max_date=date.fromisoformat(refusal.limit))
            self._day, self._max_date_offered = None, True  # a yes now takes the maximum date
            return self._remember([self._say("promise_refused_too_late")])
        if refusal.code == Refusal.AMOUNT_OVER_DEBT and (refusal.limit or self.facts.amount_owed is not None):
            if refusal.limit:
                self._learn(amount_owed=int(Decimal(refusal.limit)))
            self._amount, self._count, self._offered = None, None, Offer.FULL  # a yes now is the balance
            return self._remember([self._say("promise_refused_over_balance")])
        if refusal.code == Refusal.DATE_PAST:
            self._day = None
            return self._remember([self._say("promise_refused_past")])
        # Nothing the debtor can change (no identity, a broken record): a person takes it from here.
        return self._transfer(f"the record refused the promise: {refusal.text}", "promise_refused")

    def _learn(self, **record: object) -> None:
        """The record's figures replace the card's: in what is said and in what is negotiated."""
        self.facts = replace(self.facts, **record)  # type: ignore[arg-type]
        self._vars.update(self.facts.variables())
        self.negotiator.max_date, self.negotiator.balance = self.facts.max_date, self.facts.amount_owed
