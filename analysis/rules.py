"""The rule analyzer: a call's analysis from its transcript and facts, deterministic, on the CPU.

Every caller line is read with `agent.nlu.understand` (intents, dates, amounts) at the moment of the
call, plus the cues of `analysis.lexicon` (mood, refusal, reasons, channel). The call's
*stance* is then decided, and the stance decides interest, next action and most of the
classification through one table (`_BY_STANCE`), so the choices can be read and argued with in
one place.

Facts outrank words: the result the agent's tools recorded, and a promise row they stored, decide
the stance when they say something; the words decide otherwise. Among several stances the most
consequential wins (`_PRECEDENCE`): a wrong number or "stop calling" over anything, a promise over
the refusal that came before it.

Who needs a person (`needs_human`), and how soon (`priority`, 0..100):
  asked for a person (or was transferred) +30, frustrated +20, disputes the debt +15, says they
  already paid (someone must check) +10, wants terms the agent cannot grant +10, on a base of 40,
  plus 10 for a pre-legal (prejudicial) debt and 5 for a late one (tardia). A wrong number needs
  nobody: the person who answered is not the debtor. Nothing else needs a person (priority 0).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from agent.nlu import Intent, Understanding, understand
from agent.nlu.intents import WRONG_NUMBER as WRONG_NUMBER_RULES
from agent.nlu.text import normalise
from agent.vocabulary import CallResult
from analysis.classification import ClassificationScheme
from analysis.inputs import AnalysisInput
from analysis.lexicon import (
    AUDIO_PROBLEM,
    REFUSAL,
    THIRD_PARTY,
    channel_of,
    english,
    reason_of,
    turn_sentiment,
)
from analysis.schema import (
    PROMISE_HORIZON,
    CallAnalysis,
    InterestLevel,
    NextAction,
    Promise,
    Sentiment,
    overall_sentiment,
    trend_of,
)
from analysis.summary import summarise

__all__ = ["CallerTurn", "RuleAnalyzer", "Stance", "read_caller_turn"]


class Stance(StrEnum):
    PROMISE = "promise"
    PAYMENT_LINK = "payment_link"
    NEGOTIATING = "negotiating"
    CALLBACK = "callback"
    ENGAGED = "engaged"  # talked about the debt, concluded nothing
    CANNOT_PAY = "cannot_pay"
    ALREADY_PAID = "already_paid"
    DISPUTE = "dispute"
    REFUSED = "refused"
    UNDECIDED = "undecided"  # only greetings, yes/no, identity
    STOP_CALLING = "stop_calling"
    WRONG_NUMBER = "wrong_number"
    THIRD_PARTY = "third_party"
    NO_CONVERSATION = "no_conversation"


S = Stance
_PRECEDENCE = (S.WRONG_NUMBER, S.STOP_CALLING, S.PROMISE, S.ALREADY_PAID, S.DISPUTE, S.REFUSED, S.PAYMENT_LINK,
               S.CALLBACK, S.CANNOT_PAY, S.NEGOTIATING, S.THIRD_PARTY, S.ENGAGED, S.UNDECIDED, S.NO_CONVERSATION)

R = CallResult
# The agent's recorded results that name a stance; the others (transfer, completed, hung_up, ...) do not.
_RESULT_STANCE = {R.PROMISE: S.PROMISE, R.CALLBACK: S.CALLBACK, R.WRONG_NUMBER: S.WRONG_NUMBER,
                  R.STOP_CALLING: S.STOP_CALLING, R.ALREADY_PAID: S.ALREADY_PAID, R.REFUSED: S.REFUSED,
                  R.DISPUTE: S.DISPUTE, R.CANNOT_PAY: S.CANNOT_PAY, R.PAYMENT_LINK: S.PAYMENT_LINK}
# The results that mean the caller asked for (or was given) a person.
_TRANSFER_RESULTS = frozenset({R.TRANSFER, R.NO_AGENT_AVAILABLE})
_INTENT_STANCE = {Intent.WRONG_NUMBER: S.WRONG_NUMBER, Intent.STOP_CALLING: S.STOP_CALLING,
                  Intent.ALREADY_PAID: S.ALREADY_PAID, Intent.DISPUTE: S.DISPUTE, Intent.CALLBACK: S.CALLBACK,
                  Intent.CANNOT_PAY: S.CANNOT_PAY, Intent.NEGOTIATE: S.NEGOTIATING,
                  Intent.PAYMENT_LINK: S.PAYMENT_LINK, Intent.ASK_DEBT: S.ENGAGED}
_SMALL_TALK = frozenset({Intent.GREETING, Intent.GOODBYE, Intent.CONFIRM, Intent.DENY, Intent.UNKNOWN,
                         Intent.REPEAT, Intent.IDENTIFY, Intent.HUMAN})

IL, NA = InterestLevel, NextAction
# stance -> (interest, next action, payment_stance, negotiation_stage)
_BY_STANCE: dict[Stance, tuple[InterestLevel, NextAction, str, str]] = {
    S.PROMISE: (IL.HIGH, NA.CLOSE_DEAL, "will_pay", "agreement"),
    S.PAYMENT_LINK: (IL.HIGH, NA.SEND_INFO, "will_pay", "negotiation"),  # asked for the means to pay
    S.NEGOTIATING: (IL.MEDIUM, NA.SCHEDULE_MEETING, "negotiating", "negotiation"),  # terms need a person
    S.CALLBACK: (IL.MEDIUM, NA.FOLLOW_UP_CALL, "undecided", "negotiation"),
    S.ENGAGED: (IL.MEDIUM, NA.FOLLOW_UP_CALL, "undecided", "negotiation"),
    S.CANNOT_PAY: (IL.LOW, NA.FOLLOW_UP_CALL, "cannot_pay", "negotiation"),
    S.ALREADY_PAID: (IL.LOW, NA.SEND_INFO, "already_paid", "closed_without_agreement"),  # ask for the receipt
    S.DISPUTE: (IL.LOW, NA.SCHEDULE_MEETING, "disputes", "closed_without_agreement"),
    S.REFUSED: (IL.LOW, NA.NO_INTEREST, "refuses", "closed_without_agreement"),
    S.UNDECIDED: (IL.LOW, NA.FOLLOW_UP_CALL, "undecided", "identification"),
    S.STOP_CALLING: (IL.NONE, NA.NO_INTEREST, "refuses", "closed_without_agreement"),
    S.WRONG_NUMBER: (IL.NONE, NA.NO_INTEREST, "undecided", "identification"),
    S.THIRD_PARTY: (IL.NONE, NA.FOLLOW_UP_CALL, "undecided", "identification"),
    S.NO_CONVERSATION: (IL.NONE, NA.FOLLOW_UP_CALL, "undecided", "identification"),
}
_CONTACT = {S.WRONG_NUMBER: "wrong_number", S.THIRD_PARTY: "third_party", S.NO_CONVERSATION: "no_conversation"}

_HUMAN_BASE = 40
_HUMAN_WEIGHTS = {"asked_for_human": 30, "frustrated": 20, "dispute": 15, "already_paid": 10, "negotiating": 10}
_TYPE_WEIGHTS = {"prejudicial": 10, "tardia": 5}
_SOON = timedelta(days=7)  # a promise due within a week is urgent to follow


@dataclass(frozen=True, slots=True)
class CallerTurn:
    """One caller line as the rules read it."""

    normal: str
    heard: Understanding
    sentiment: Sentiment
    frustrated: bool
    stance: Stance | None

    @property
    def asked_for_human(self) -> bool:
        return self.heard.intent is Intent.HUMAN


def read_caller_turn(text: str, at: datetime) -> CallerTurn:
    """One caller line read as the rules read it, dates relative to `at` (aware): after the call by
    the analyzer, and during it by `analysis.live.SentimentTracker` (one scorer for both)."""
    normal = normalise(text)
    heard = understand(text, at)
    sentiment, frustrated = turn_sentiment(normal, heard.intent)
    if heard.intent in (Intent.STOP_CALLING, Intent.DISPUTE) and any(
            r.pattern.search(normal) for r in WRONG_NUMBER_RULES):
        # "Número equivocado, dejen de molestar": one intent per line, and the wrong number is the fact.
        stance: Stance | None = S.WRONG_NUMBER
    elif REFUSAL.search(normal) and heard.intent is not Intent.STOP_CALLING:
        stance = S.REFUSED  # before the intent: "no quiero pagar" reads as a pay verb
    elif heard.intent is Intent.PROMISE_TO_PAY:
        # A date, or a pay verb with an amount; a bare number is too weak alone ("ya les dije mil veces").
        offered = heard.promise_date is not None or (heard.amount and heard.matched.endswith("pay_with_details"))
        stance = S.PROMISE if offered else S.ENGAGED
    elif heard.intent in (Intent.DENY, Intent.UNKNOWN, Intent.GREETING, Intent.GOODBYE) and THIRD_PARTY.search(normal):
        stance = S.THIRD_PARTY
    else:
        stance = _INTENT_STANCE.get(heard.intent)
        if stance is None and heard.intent not in _SMALL_TALK:
            stance = S.ENGAGED
    return CallerTurn(normal, heard, sentiment, frustrated, stance)


def _first_by_precedence(stances: Sequence[Stance | None]) -> Stance | None:
    present = {s for s in stances if s is not None}
    return next((s for s in _PRECEDENCE if s in present), None)


def _promise(inp: AnalysisInput, turns: Sequence[CallerTurn]) -> Promise | None:
    """The registered promise; else the last date the caller promised, with the amount they offered."""
    facts = inp.facts
    if facts.promise is not None:
        return Promise(facts.promise.date, facts.promise.amount, "registered")
    promising = [t.heard for t in turns if t.heard.intent is Intent.PROMISE_TO_PAY]
    dated = [h for h in promising if h.promise_date is not None]
    if not dated:
        return None
    last = dated[-1]
    day = facts.call_at.date()
    if last.promise_date is None or not day <= last.promise_date <= day + PROMISE_HORIZON:
        return None
    amount = last.amount
    if amount is None:  # "le pago el viernes" ... "unos cincuenta mil": the last amount offered
        amount = next((h.amount for h in reversed(promising) if h.amount), None)
    return Promise(last.promise_date, None if amount is None else Decimal(amount), "transcript")


class RuleAnalyzer:
    """`analyze` is pure and synchronous: run it in an executor, never on the event loop."""

    name = "rules"

    def __init__(self, scheme: ClassificationScheme) -> None:
        self.scheme = scheme

    def analyze(self, inp: AnalysisInput) -> CallAnalysis:
        facts = inp.facts
        turns = [read_caller_turn(line.text, facts.call_at) for line in inp.caller_lines]
        from_facts = [_RESULT_STANCE.get(facts.result or "")]
        if facts.promise is not None:
            from_facts.append(S.PROMISE)
        stance = (_first_by_precedence(from_facts) or _first_by_precedence([t.stance for t in turns])
                  or (S.UNDECIDED if turns else S.NO_CONVERSATION))
        sentiments = tuple(t.sentiment for t in turns)
        asked = facts.result in _TRANSFER_RESULTS or any(t.asked_for_human for t in turns)
        frustrated = any(t.frustrated for t in turns)
        promise = _promise(inp, turns)
        if promise is not None and promise.source == "transcript" and stance not in (S.PROMISE, S.STOP_CALLING):
            promise = None  # the words sounded like one, but the call concluded otherwise (the agent's result)

        reasons = {"asked_for_human": asked, "frustrated": frustrated, "dispute": stance is S.DISPUTE,
                   "already_paid": stance is S.ALREADY_PAID, "negotiating": stance is S.NEGOTIATING}
        needs_human = stance is not S.WRONG_NUMBER and any(reasons.values())
        priority = 0
        if needs_human:
            priority = min(100, _HUMAN_BASE + sum(_HUMAN_WEIGHTS[k] for k, on in reasons.items() if on)
                           + _TYPE_WEIGHTS.get(facts.delinquency_type, 0))

        interest, action, payment_stance, stage = _BY_STANCE[stance]
        if asked and stance not in (S.PROMISE, S.STOP_CALLING, S.WRONG_NUMBER):
            action = NA.SCHEDULE_MEETING  # they want a person: book one
        trend = trend_of(sentiments)
        # Category values (classification.toml), not results: "payment_link" is a payment channel there.
        guesses = {
            "contact_result": _CONTACT.get(stance, "debtor_reached"),
            "payment_stance": payment_stance,
            "negotiation_stage": stage,
            "non_payment_reason": "dispute" if stance is S.DISPUTE else _first(reason_of(t.normal) for t in turns),
            "payment_channel": ("payment_link" if facts.result == R.PAYMENT_LINK
                                else _first(channel_of(t.normal) for t in turns)),
            "urgency": self._urgency(stance, asked or frustrated, promise, inp),
            "call_issue": self._issue(turns, frustrated),
            "language": "en" if english(" ".join(t.normal for t in turns)) else "es",
        }
        return CallAnalysis(
            summary=summarise(stance.value, promise, asked=asked, frustrated=frustrated,
                              reason=guesses["non_payment_reason"], trend=trend),
            sentiment=overall_sentiment(sentiments),
            turn_sentiments=sentiments,
            interest_level=interest,
            next_action=action,
            promise=promise,
            needs_human=needs_human,
            priority=priority,
            asked_for_human=asked,
            frustrated=frustrated,
            classification=self.scheme.reduce({k: v for k, v in guesses.items() if v is not None}),
            analyzer=self.name,
        )

    @staticmethod
    def _urgency(stance: Stance, upset: bool, promise: Promise | None, inp: AnalysisInput) -> str:
        if upset or (promise is not None and promise.date <= inp.facts.call_at.date() + _SOON):
            return "high"
        if stance in (S.WRONG_NUMBER, S.STOP_CALLING, S.NO_CONVERSATION):
            return "low"
        return "normal"

    @staticmethod
    def _issue(turns: Sequence[CallerTurn], frustrated: bool) -> str:
        if frustrated:
            return "complaint"
        if any(AUDIO_PROBLEM.search(t.normal) for t in turns):
            return "audio_problem"
        if sum(t.heard.intent is Intent.REPEAT for t in turns) >= 2:
            return "confusion"
        return "none"


def _first(values: Iterable[str | None]) -> str | None:
    return next((v for v in values if v), None)
