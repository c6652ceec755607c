"""What a lead's words say about the offer: questions, objections, interest; and the lead's reading.

One reading for both sides of the call: the sales agent (`agent.sales.agent`) reads each line with
`read_line` while it talks, and the post-call analysis (`analysis.sales`) replays the caller's lines
through a fresh `LeadReading` when the call ended before the agent recorded its own. The words are
matched on `agent.nlu.normalise`d text (lower case, no accents), as every rule in `agent.nlu` is.

Interest is 1 to 5, as a sales supervisor scores a call:
  1  no interest: declined twice, or asked not to be called;
  2  low: declined once, or only objected, and never came round;
  3  listened and asked, undecided ("lo voy a pensar");
  4  interested: said so, or asked how much, and did not decline after;
  5  wants to go ahead: accepted an executive's call, or asked how to apply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.nlu.numbers import amount_in
from agent.nlu.text import normalise

__all__ = ["OBJECTION_LABELS", "QUESTION_LABELS", "LeadReading", "LineCues", "read_line"]

# Objections, in the order a reply answers them (the first found is answered).
_OBJECTIONS = {
    "has_credit": r"\bya tengo (?:un |otro |una )?(?:credito|prestamo|deuda|tarjeta)s?\b|\btengo (?:un |otro )?"
                  r"(?:credito|prestamo)s? con\b|\bya estoy pagando (?:un|otro)\b",
    "rate": r"\b(?:tasa|interes|intereses)\b.{0,20}\b(?:alt[ao]s?|car[ao]s?|mucho)\b|\bmuy car[ao]\b|\bsale car[ao]\b"
            r"|\b(?:usura|abusiv[ao])\b",
    "no_need": r"\bno (?:lo |la )?(?:necesito|preciso|me hace falta|me falta)\b|\bno ando buscando\b",
    "debt": r"\b(?:estoy|ando) (?:muy )?endeudad[ao]\b|\bno quiero (?:mas )?deudas?\b|\bno quiero endeudarme\b"
            r"|\bno me alcanza\b",
    "trust": r"\b(?:estafa|fraude|no confio|desconfio|como se que|de donde saco|quien le dio mi numero"
             r"|de donde tiene mi numero)\b",
    "think": r"\blo (?:voy a|tengo que|quiero) (?:pensar|conversar|consultar|ver)\b|\bdejeme pensarlo\b"
             r"|\bdespues (?:veo|lo veo)\b|\bconsultarlo con\b",
    "no_time": r"\bno tengo tiempo\b|\bestoy (?:ocupad[ao]|trabajando|manejando)\b|\bahora no puedo\b",
}
OBJECTION_LABELS = {
    "has_credit": "ya tiene un crédito", "rate": "la tasa le parece alta", "no_need": "no lo necesita",
    "debt": "no quiere endeudarse", "trust": "desconfía de la llamada", "think": "lo quiere pensar",
    "no_time": "no tiene tiempo ahora", "no_interest": "no le interesa",
}
_QUESTIONS = {
    "amount": r"\bcuanto (?:me )?(?:pueden|podrian|puedo|prestan|dan|me dan|es el (?:monto|maximo))\b"
              r"|\b(?:monto|maximo) (?:que|me)\b|\bhasta cuanto\b|\bcuanta plata\b",
    "rate": r"\b(?:que|cual es la|cuanto es la|de cuanto es la) (?:tasa|interes)\b|\bla tasa\b.*\?|\bcuanto interes\b",
    "term": r"\b(?:plazo|cuantos meses|cuantas cuotas|en cuanto tiempo|a cuantos)\b",
    "requirements": r"\b(?:requisitos?|que necesito|que papeles|que documentos|que tengo que (?:hacer|presentar))\b",
    "what": r"\bque es (?:eso|la libranza|libranza|un prestamo por)\b|\bcomo funciona\b|\bde que se trata\b",
}
QUESTION_LABELS = {"amount": "el monto", "rate": "la tasa", "term": "el plazo", "requirements": "los requisitos",
                   "what": "cómo funciona"}
_DECLINE = re.compile(r"\bno me interesa\w*\b|\bno estoy interesad[ao]\b|\bno gracias\b|\bno,? gracias\b"
                      r"|\bno quiero\b(?! (?:deudas?|endeudarme|mas deudas))|\bpaso\b|\bno por ahora\b")
_INTEREST = re.compile(r"\b(?:me interesa\w*|estoy interesad[ao]|me sirve|me conviene|suena bien|me gusta\w*"
                       r"|quiero saber|cuentem\w*|digame|si claro|bueno ya|ya bueno|de una)\b")
_GO_AHEAD = re.compile(r"\bque me llame\w*|\bme llame (?:un|una|el|la) (?:ejecutiv|asesor)\w*"
                       r"|\bquiero (?:pedirlo|solicitarlo|sacarlo|tomarlo|el prestamo|el credito)\b"
                       r"|\bcomo (?:lo )?(?:solicito|pido|hago para pedirlo)\b|\bmandenme la simulacion\b"
                       r"|\benvienme la simulacion\b|\bhagamos la simulacion\b")
_TERM_SAID = re.compile(r"\b(\d{1,2}) (?:meses|cuotas)\b|\b(uno|dos|tres|cuatro|cinco) anos\b")
_MIN_LOAN = 100_000  # a figure under this is not an amount to borrow ("a las cinco", "en dos")


@dataclass(frozen=True, slots=True)
class LineCues:
    """One line of the lead, read."""

    questions: tuple[str, ...] = ()
    objections: tuple[str, ...] = ()
    declined: bool = False
    interested: bool = False
    go_ahead: bool = False  # wants an executive's call, or to apply
    amount: int | None = None  # an amount they would borrow ("unos cinco millones")
    term: str = ""  # a term they would like ("36 meses")


def read_line(text: str) -> LineCues:
    normal = normalise(text)
    questions = tuple(k for k, pattern in _QUESTIONS.items() if re.search(pattern, normal))
    objections = tuple(k for k, pattern in _OBJECTIONS.items() if re.search(pattern, normal))
    go_ahead = _GO_AHEAD.search(normal) is not None
    declined = not go_ahead and _DECLINE.search(normal) is not None
    amount = amount_in(normal.split())
    term = _TERM_SAID.search(normal)
    return LineCues(
        questions=questions, objections=objections, declined=declined,
        interested=not declined and (_INTEREST.search(normal) is not None or "amount" in questions),
        go_ahead=go_ahead, amount=amount if amount is not None and amount >= _MIN_LOAN else None,
        term=term.group() if term else "")


@dataclass(slots=True)
class LeadReading:
    """The lead as the call has shown them so far: what they asked and objected, and their interest."""

    questions: list[str] = field(default_factory=list)
    objections: list[str] = field(default_factory=list)
    declines: int = 0
    interested: bool = False
    go_ahead: bool = False
    declined_last: bool = False  # the latest stance was a no (an interest said later outweighs it)
    amount: int | None = None
    term: str = ""
    engaged: bool = False  # answered past the greeting

    def add(self, cues: LineCues) -> None:
        self.engaged = True
        self.questions += [q for q in cues.questions if q not in self.questions]
        self.objections += [o for o in cues.objections if o not in self.objections]
        if cues.declined:
            self.declines += 1
            if "no_interest" not in self.objections:
                self.objections.append("no_interest")
            self.declined_last = True
        if cues.interested or cues.go_ahead:
            self.interested = True
            self.declined_last = False
        self.go_ahead = self.go_ahead or cues.go_ahead
        self.amount = cues.amount or self.amount
        self.term = cues.term or self.term

    def refused_for_good(self) -> None:
        """"No me vuelvan a llamar": no interest, whatever came before."""
        self.declines = max(self.declines, 2)
        if "no_interest" not in self.objections:
            self.objections.append("no_interest")
        self.declined_last = True

    def accepted(self) -> None:
        """The lead said yes to an executive's call (the agent's closing question)."""
        self.go_ahead = self.interested = True
        self.declined_last = False

    @property
    def interest(self) -> int:
        if self.go_ahead:
            return 5
        if self.declines >= 2:
            return 1
        if self.declined_last:
            return 2
        if self.interested:
            return 4
        if self.questions:
            return 3
        return 2 if self.objections or self.engaged else 1

    @property
    def key_points(self) -> list[str]:
        """What a person taking the lead over should know first, in Spanish."""
        points = []
        if self.amount:
            points.append(f"monto que le interesa: {self.amount:,} pesos".replace(",", "."))
        if self.term:
            points.append(f"plazo que le interesa: {self.term}")
        if self.questions:
            points.append("preguntó por " + ", ".join(QUESTION_LABELS[q] for q in self.questions))
        if self.go_ahead:
            points.append("acepta que lo llame un ejecutivo")
        return points
