"""The rule analyzer's summary: one or two short Spanish sentences a supervisor reads in the queue.

Templates rather than extracts of the transcript: a supervisor scanning fifty calls needs the same
words for the same situation, and the transcript is one click away for the rest.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from analysis.schema import Promise, Trend

__all__ = ["money", "spoken_date", "summarise"]

_MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre")
_STANCE_LINES = {
    "payment_link": "El deudor pidió el enlace o los datos para pagar.",
    "negotiating": "El deudor pidió condiciones de pago (cuotas, plazo o descuento) sin comprometer una fecha.",
    "callback": "El deudor pidió que lo llamen en otro momento.",
    "engaged": "El deudor conversó sobre la deuda sin llegar a un acuerdo.",
    "cannot_pay": "El deudor dijo que no puede pagar por ahora",
    "already_paid": "El deudor afirma que ya pagó; hay que verificar el pago.",
    "dispute": "El deudor desconoce o disputa la deuda.",
    "refused": "El deudor se negó a pagar.",
    "undecided": "El deudor contestó pero no habló de la deuda.",
    "stop_calling": "El deudor pidió que no lo vuelvan a llamar.",
    "wrong_number": "Contestó otra persona: número equivocado.",
    "third_party": "Contestó un tercero; el deudor no estaba.",
    "no_conversation": "La llamada se contestó pero nadie habló.",
}
_REASONS = {"unemployment": "está sin trabajo", "health": "por un problema de salud",
            "financial_hardship": "no le alcanza el dinero", "forgot": "lo olvidó",
            "other_priorities": "tiene otros gastos primero"}


def money(amount: Decimal) -> str:
    """$50.000 (Chilean thousands separator); cents only when there are any."""
    whole = f"{int(amount):,}".replace(",", ".")
    cents = amount - int(amount)
    return f"${whole}" + (f",{int(cents * 100):02d}" if cents else "")


def spoken_date(day: date) -> str:
    return f"{day.day} de {_MONTHS[day.month - 1]} de {day.year}"


def summarise(stance: str, promise: Promise | None, *, asked: bool, frustrated: bool, reason: str | None,
              trend: Trend) -> str:
    if promise is not None:
        what = f"pagar {money(promise.amount)}" if promise.amount is not None else "pagar"
        first = f"El deudor se comprometió a {what} el {spoken_date(promise.date)}."
    elif stance == "promise":
        first = "El deudor ofreció pagar, sin fecha acordada."
    elif stance == "cannot_pay":
        first = _STANCE_LINES[stance] + (f": {_REASONS[reason]}." if reason in _REASONS else ".")
    elif stance == "undecided" and asked:
        first, asked = "El deudor pidió hablar con una persona sin tratar la deuda.", False
    else:
        first = _STANCE_LINES.get(stance, _STANCE_LINES["engaged"])
    notes = []
    if asked:
        notes.append("pidió hablar con una persona")
    if frustrated:
        notes.append("se mostró molesto")
    elif trend is Trend.WORSENING:
        notes.append("su ánimo empeoró durante la llamada")
    if not notes:
        return first
    second = " y ".join(notes)
    return f"{first} {second[0].upper()}{second[1:]}."
