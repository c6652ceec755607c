"""The rule engine's opening: from the identity confirmed to the first offer, in short turns.

A mixin of `agent.rule_agent.RuleAgent` (it uses the agent's `_say`, `_remember`, `_negotiate` ...).
The legal notice and the debt are not one monologue: the flow's `briefing` names its pieces (the
notice, the debt, a flow's own: tardía's consequence, prejudicial's discount), each said in a turn
of its own, about ten seconds at most, and each ending in a question that hands the turn to the
debtor ("¿Tiene un momento?"); the last one ends in the flow's first offer ("¿Qué día podría
realizar el pago?"). The order is the law's: the notice (company, a recorded call, the purpose)
first, the debt's facts only once the debtor has said to go ahead.

What the debtor answers to a piece:
- a go-ahead (yes, "dígame", "¿de qué se trata?", words the engine does not read, a plain "no" to
  a later piece's question: "no sabía") brings the next piece;
- a plain "no" to the first ("¿Tiene un momento?") is a bad moment: when can we call back? (a time
  is booked, a yes after all goes on, anything else ends the call politely);
- "llámeme más tarde", "estoy manejando": the callback, booked;
- anything about the debt itself (a promise, "no puedo pagar todo", instalments, the link, "ya
  pagué", a dispute): the pieces up to the debt are said first (without their questions, so that
  the promise is made about a debt the debtor has heard), then it is negotiated as usual.

A reminder call (the facts carry a `BrokenPromise`: a promise's date passed unpaid) opens with the
flow's `reminder_briefing` instead: the notice, then "El lunes 30 de noviembre usted se comprometió a
pagar 50000 pesos. ¿Pudo realizar el pago?". A yes or "ya pagué" is `already_paid` (a person
verifies); a new date is the same promise on that day, read back; a no gives the balance and asks
for a new date (a "no puedo" the flow's next offer); anything else is negotiated as usual.

The notice must be heard, not only said: after a barge-in (`correct_last_reply`) the notice's
sentences that were not played in full are owed, and the next reply that states the debt or reads
a promise back says them first ("Antes de seguir, le informo: Esta llamada es grabada. ..."), then
answers what the debtor said when they cut in.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from agent.nlu.dates import prepare, when_in
from agent.nlu.intents import Intent, Understanding
from agent.nlu.text import normalise

if TYPE_CHECKING:
    from agent.protocol import AgentOutput

_QUESTION_RE = re.compile(r"\s*¿[^¿]*\?$")
# A "no" to a later piece's question ("¿Estaba al tanto?" "No, no sabía") moves on like a yes.
_PLAIN_NO_RE = re.compile(r"^(?:no|nop|nopo)(?: (?:no|sabia|se|la verdad|idea|tenia idea|me acordaba|po))*$")
# A "no" to "¿Tiene un momento?" (not "no, todo no puedo", which is about the debt).
_NO_TIME_RE = re.compile(r"^(?:no|nop|nopo|negativo)(?: (?:no|gracias|tengo tiempo|ahora|puedo|mucho|la verdad))*$")
# "¿Aló?" after a piece: it was not heard ("sí, dígame" is a go-ahead, though the NLU calls both greetings).
_ALO_RE = re.compile(r"^(?:alo|hola)(?: (?:alo|hola))*(?: me escucha)?$")
# What moves the briefing on rather than answering it: a yes, a go-ahead, a question about the debt.
_GO_AHEAD = frozenset({Intent.CONFIRM, Intent.UNKNOWN, Intent.ASK_DEBT, Intent.GREETING, Intent.REPEAT,
                       Intent.IDENTIFY})
_SENTENCE_END_RE = re.compile(r"(?<=[.?!:])\s+")
_CUT_RE = re.compile(r"\s*(?:…|\.\.\.)$")


def sentences_of(text: str) -> list[str]:
    """`text` split after each full stop, question or colon."""
    return [part for part in _SENTENCE_END_RE.split(text.strip()) if part]


def heard_in_full(spoken: str) -> set[str]:
    """The sentences of what was played that the caller heard whole, normalised: one cut short (it ends
    in "…", `media.transcript.heard`) or with no end of its own does not count."""
    parts = sentences_of(_CUT_RE.sub("", spoken))
    if parts and not parts[-1].endswith((".", "?", "!")):
        parts.pop()
    return {normalise(part) for part in parts}


def without_question(piece: str) -> str:
    """A piece without the question it ends in (said when the debtor already answered it)."""
    return _QUESTION_RE.sub("", piece).strip()


class Opening:
    """The briefing's state and steps; `RuleAgent` supplies the words, the step names and the tools."""

    brief_step: object
    confirm_step: object
    ask_callback_step: object
    negotiate_step: object
    reminder_step: object

    def _start_briefing(self) -> list[str]:
        """The identity is confirmed: the first piece (the notice), and the rest waits for a go-ahead."""
        self._pieces = self._briefing_pieces()
        self._pieces_said = 0
        return self._remember(self._next_piece())

    @property
    def _facts_piece(self) -> str:
        """The piece that tells what the call is about: the debt, or the promise a reminder is about."""
        return "reminder" if self.facts.broken_promise is not None else "debt"

    def _briefing_pieces(self) -> list[tuple[str, str]]:
        """The flow's pieces in order, as (prompt, words); a discount the flow offers is the last."""
        if self.facts.broken_promise is not None:  # a reminder: what was promised, and was it paid?
            keys = list(self.flow.reminder_briefing)
        else:
            keys = list(self.flow.briefing)
            if self.negotiator.has_discount and "discount_offer" not in keys:
                keys.append("discount_offer")
        extra = self._discount_vars() if self.negotiator.has_discount else {}
        return [(key, self._say(key, **extra)) for key in keys if key in self.flow.prompts]

    def _next_piece(self) -> list[str]:
        """The next piece, ending in a question; the last one asks the first offer, and the negotiation starts."""
        key, piece = self._pieces.pop(0)
        self._pieces_said += 1
        self._debt_told = self._debt_told or key == self._facts_piece
        if key == "reminder":  # "¿Pudo realizar el pago?": its answer decides what follows
            self._pieces = []
            self.step = self.reminder_step
            return [piece]
        if self._pieces:
            self.step = self.brief_step
            return [piece] if piece.endswith("?") else [piece, self._say("go_ahead")]
        self.step = self.negotiate_step
        return [piece] if piece.endswith("?") else [piece, self._say("ask_date")]

    def _through_debt(self) -> list[str]:
        """The pieces still owed up to the debt, without their questions: the debtor spoke of the debt."""
        told: list[str] = []
        while self._pieces and not self._debt_told:
            key, piece = self._pieces.pop(0)
            self._debt_told = key == self._facts_piece
            told.append(without_question(piece))
        self._pieces = []
        self.step = self.negotiate_step
        return told

    # -------------------------------------------------------------- the notice, heard
    def _notice_sentences(self) -> list[str]:
        """The notice's sentences the law needs heard (who calls, for whom, recorded, why), not its question."""
        first = (self.flow.reminder_briefing if self.facts.broken_promise is not None else self.flow.briefing)[0]
        return sentences_of(without_question(self._say(first)))

    def correct_last_reply(self, spoken: str) -> None:
        """After a barge-in: the notice's sentences said in that reply but not heard in full are owed."""
        heard = heard_in_full(spoken)
        missed = {s for s in self._notice_in_last if normalise(s) not in heard}
        self._unheard = [s for s in self._notice_sentences() if s in missed or s in self._unheard]
        # What came after the cut was not heard either: a read-back there is said again before a yes counts.
        self._read_back_unheard = bool(missed) and self.step is self.confirm_step

    def _with_notice(self, items: list[AgentOutput]) -> list[AgentOutput]:
        """A reply as said: the notice's sentences not heard first when it is about the debt (the debt or a
        read-back: the law's order); and the notice's sentences it holds remembered (`correct_last_reply`)."""
        said = {normalise(s) for item in items if isinstance(item, str) for s in sentences_of(item)}
        owed = [s for s in self._unheard if normalise(s) not in said]
        if owed and self._debt_told and said:
            items = [self._say("notice_again", notice=" ".join(owed)), *items]
            said.update(normalise(s) for s in owed)
        self._notice_in_last = [s for s in self._notice_sentences() if normalise(s) in said]
        self._read_back_unheard = False
        self._unheard = [s for s in self._unheard if normalise(s) not in said]
        return items

    def _brief(self, heard: Understanding, text: str) -> list[AgentOutput]:
        """The debtor's answer to a piece of the briefing."""
        intent = heard.intent
        details = heard.promise_date or heard.amount or heard.installments or heard.date_issue
        if intent is Intent.CALLBACK:
            return self._callback(heard)
        if intent is Intent.GREETING and _ALO_RE.match(text) and self._last:
            return self._remember(list(self._last))  # "¿Aló?": the piece was not heard; again, whole
        if intent is Intent.DENY and self._pieces_said == 1 and (not text or _NO_TIME_RE.match(text)):  # key 2
            self.step = self.ask_callback_step  # "¿Tiene un momento?" "No": when, then?
            return self._remember([self._say("ask_callback_time")])
        if (intent in _GO_AHEAD or (intent is Intent.DENY and (not text or _PLAIN_NO_RE.match(text)))) \
                and not details:
            if intent is Intent.ASK_DEBT and self._debt_told:
                return self._remember([*self._answer(text), *self._next_piece()])
            return self._remember(self._next_piece())
        if intent in (Intent.ALREADY_PAID, Intent.DISPUTE, Intent.GOODBYE):
            self.step = self.negotiate_step
            return self._negotiate(heard, text)
        told = self._through_debt()
        return told + self._negotiate(heard, text)

    def _ask_callback(self, heard: Understanding, text: str) -> list[AgentOutput]:
        """No time now: a time said is booked; a yes after all goes on with the briefing."""
        when = heard.callback_at or when_in(prepare(text), self._clock())
        if when is not None:
            return self._callback(replace(heard, callback_at=when))
        if heard.intent is Intent.CONFIRM and self._pieces:
            return self._remember(self._next_piece())
        if self._busy and heard.intent in (Intent.CALLBACK, Intent.UNKNOWN, Intent.DENY, Intent.GOODBYE):
            return self._callback(heard)  # busy, no time given ("no sé, cuando pueda"): the default
        if heard.intent in (Intent.DENY, Intent.UNKNOWN, Intent.GOODBYE, Intent.CONFIRM):
            return self._end([], "goodbye")
        return self._brief(heard, text)  # about the debt after all: it is said, and negotiated

    # -------------------------------------------------------------- a broken promise's reminder
    def _reminded(self, heard: Understanding, text: str) -> list[AgentOutput]:
        """The answer to "¿Pudo realizar el pago?": paid (a person verifies), a new date (a new promise,
        read back), not paid (the balance, and a new date asked), or anything else the negotiation reads."""
        intent = heard.intent
        details = heard.promise_date or heard.amount or heard.installments or heard.date_issue
        self.step = self.negotiate_step
        if intent is Intent.ALREADY_PAID or (intent is Intent.CONFIRM and not details):
            return self._negotiate(replace(heard, intent=Intent.ALREADY_PAID), text)
        promise = self.facts.broken_promise
        if promise is not None and (intent is Intent.PROMISE_TO_PAY or details):
            # "No, pero le pago el viernes": what was promised, on the new day (a plan: its instalments).
            if promise.installments:
                self._count = promise.installments
            elif self.negotiator.balance is None or promise.amount < self.negotiator.balance:
                self._amount = promise.amount
            return self._negotiate(heard, text)
        if intent in (Intent.DENY, Intent.CANNOT_PAY):
            told = self._say("reminder_not_paid")
            if intent is Intent.CANNOT_PAY:  # "no, me quedé sin pega": the balance, then the flow's next offer
                return self._remember([told, *self._next_offer()])
            return self._remember([told, self._say("ask_date")])
        if intent in (Intent.UNKNOWN, Intent.GREETING):  # asked again; the third time a person takes over
            self.step = self.reminder_step
            return self._misunderstood("reminder")
        return self._negotiate(heard, text)
