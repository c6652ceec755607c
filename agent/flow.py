"""Negotiation flows as data: the words of each step, per delinquency type, with the debtor's variables.

A flow is a TOML file in `agent/flows/` (or a directory an operator points to): its prompts are
plain Spanish with `{placeholders}`. The rule engine walks the same steps for every flow; the
LLM gets the same facts in its system prompt. Debt details are only ever spoken after the
identity check, whoever the brain is.
"""

from __future__ import annotations

import functools
import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path

from agent.negotiation import Terms

MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
          "noviembre", "diciembre")
WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
REQUIRED_PROMPTS = frozenset({
    "identity", "identity_again", "not_the_debtor", "notice", "debt", "ask_date", "ask_amount", "confirm_promise",
    "promise_registered", "promise_too_late", "offer_installments", "callback_booked", "transfer", "already_paid",
    "stop_calling", "wrong_number", "dispute", "payment_link", "not_understood", "goodbye", "reprompt",
    "no_input_goodbye", "no_agent", "voicemail",
})
DEFAULT_BRIEFING = ("notice", "debt")
DEFAULT_REMINDER_BRIEFING = ("notice", "reminder")
# Prompts added after operators wrote their own flows: a flow without them gets these words.
DEFAULT_PROMPTS = {
    "go_ahead": "¿Tiene un momento?",  # after a briefing piece that ends without a question
    # The debtor dialled in and their number is on file: they know who they called; who they are is
    # still asked before anything about the debt is said.
    "identity_called_in": "Hola, {greeting}, gracias por llamar a {company}. ¿Hablo con {first_name}?",
    # An amount the recogniser was not sure of (media/stt/numbers.py): asked again, never guessed.
    "amount_again": "Disculpe, no le escuché bien el monto. ¿Cuánto podría pagar?",
    # The notice's sentences a barge-in cut, said before the debt (agent/opening.py).
    "notice_again": "Antes de seguir, le informo: {notice}",
    "ask_callback_time": "Entiendo. ¿A qué hora le puedo volver a llamar?",
    # A reminder call (a broken promise): what was promised, and whether it was paid.
    "reminder": "El {promised_day} usted se comprometió a pagar {promised_amount} pesos. ¿Pudo realizar el pago?",
    "reminder_not_paid": "Entiendo. Su saldo es de {amount_owed} pesos.",
    "who_calls": "Le habla {agent_name}, asistente virtual. Llamo para hablar con {full_name}. ¿Es usted?",
    "virtual_assistant": "Sí, soy {agent_name}, una asistente virtual.",
    "virtual_assistant_company": "Sí, soy {agent_name}, asistente virtual de {company}.",
    "third_party_ask": "Entiendo. ¿Cuándo puedo encontrar a {first_name}?",
    "third_party_private": "Es un tema personal, solo puedo hablarlo con {first_name}. "
                           "¿Cuándo puedo encontrar a {first_name}?",
    "third_party_booked": "Gracias. Volveremos a llamar el {callback_at}. Que tenga un buen día.",
    "third_party_goodbye": "Gracias. Volveremos a llamar en otro momento. Que tenga un buen día.",
    "over_balance": "Su deuda es de {amount_owed} pesos, no puede pagar más que eso. ¿Cuánto pagaría?",
    "date_past": "Esa fecha ya pasó. ¿Qué día podría pagar?",
    "which_day": "¿Qué día exactamente?",
    "partial_too_low": "El abono mínimo es de {partial_minimum} pesos. ¿Puede pagar ese monto?",
    "offer_partial": "¿Podría abonar al menos {partial_minimum} pesos?",
    "offer_plan": "Puede pagarlo en {installments} cuotas de {installment_amount} pesos. ¿Le sirve?",
    "plan_counter": "Lo máximo son {installments} cuotas de {installment_amount} pesos. ¿Le sirve?",
    "ask_first_date": "¿Qué día pagaría la primera cuota?",
    "confirm_plan": "Entonces registro {installments} cuotas de {installment_amount} pesos, la primera el "
                    "{promise_date}. ¿Es correcto? Diga sí, o marque uno.",
    "discount_offer": "Si paga todo de una vez hasta el {discount_date}, queda en {discounted_amount} pesos.",
    "discount_window": "El descuento vale pagando todo hasta el {discount_date}.",
    "debt_plain": "Le explico: usted debe {amount_owed} pesos a {company}.",
    "answer_amount": "Su deuda es de {amount_owed} pesos.",
    "answer_what": "Son {installments_owed} cuotas impagas con {company}.",
    "answer_since": "Está vencida desde el {due_date}.",
    "answer_company": "Le llamo de parte de {company}.",
    # How to pay, when the company sends no payment link (with one, the link is sent: "payment_link").
    "answer_how": "Puede pagar directamente con {company}.",
    # The link was already sent on this call: the debtor hears so, and no second message goes out.
    "payment_link_again": "Ya le envié el enlace de pago por {payment_link_via}; le llegará en unos minutos.",
    "pay_by_transfer": "Puede pagar por transferencia. Le doy los datos, despacio: {payment_instructions}.",
    "ask_date_short": "¿Qué día puede pagar?",
    "offer_person": "¿Quiere que le comunique con un ejecutivo?",
    "cannot_pay_goodbye": "Entiendo. Le volveremos a contactar. Que tenga un buen día.",
    "dispute_noted": "Entiendo. Un ejecutivo revisará su caso y le contactaremos. Que tenga un buen día.",
    # The record refused a promise the debtor had confirmed: why, in plain words, and the question again.
    "promise_refused_too_late": "Disculpe, no pude registrar esa fecha: el plazo máximo para pagar es el "
                                "{max_date}. ¿Podría pagar hasta ese día?",
    "promise_refused_over_balance": "Disculpe, no pude registrar ese monto: su deuda es de {amount_owed} pesos. "
                                    "¿Le acomoda pagar ese monto?",
    "promise_refused_past": "Disculpe, no pude registrar el compromiso porque esa fecha ya pasó. "
                            "¿Qué día podría pagar?",
    "promise_refused": "Disculpe, no pude registrar su compromiso. Le comunico con un ejecutivo para dejarlo "
                       "registrado. Por favor espere en línea.",
}


class FlowError(ValueError):
    pass


def short_date(day: date) -> str:
    """'15 de diciembre': a date without its weekday, where a turn must stay short."""
    return f"{day.day} de {MONTHS[day.month - 1]}"


def spoken_date(day: date) -> str:
    """'martes 15 de diciembre': how a date is said on the phone."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} de {MONTHS[day.month - 1]}"


@dataclass(frozen=True, slots=True)
class BrokenPromise:
    """A promise the debtor did not keep, which a reminder call is about (its purpose)."""

    day: date  # the date promised (a plan's first instalment)
    amount: int  # the payment promised (a plan's: each instalment)
    installments: int | None = None


@dataclass(frozen=True, slots=True)
class DebtorFacts:
    """What the agent may say about the debt, once the person is identified."""

    full_name: str
    company: str
    amount_owed: int | None = None
    installments_owed: int | None = None
    due_date: date | None = None
    max_date: date | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    country: str | None = None  # CL, AR, CO: the debtor's calendar and calling hours
    broken_promise: BrokenPromise | None = None  # set: the call reminds the debtor of it
    # How the company's debtors pay (campaigns.payment_links): the channel a payment link goes out on
    # ("WhatsApp"; empty: nothing sends links, so none is offered), and a bank transfer's data.
    payment_link_via: str = ""
    payment_instructions: str = ""

    @property
    def purpose(self) -> str:
        """What the call is for: 'collection', or 'promise_reminder' (as `call_jobs.purpose` says)."""
        return "promise_reminder" if self.broken_promise is not None else "collection"

    @property
    def first_name(self) -> str:
        return self.full_name.split()[0] if self.full_name.strip() else ""

    def variables(self) -> dict[str, str]:
        values = {
            "full_name": self.full_name, "first_name": self.first_name, "company": self.company,
            "amount_owed": str(self.amount_owed) if self.amount_owed is not None else "",
            "installments_owed": str(self.installments_owed) if self.installments_owed is not None else "",
            "due_date": spoken_date(self.due_date) if self.due_date else "",
            "max_date": spoken_date(self.max_date) if self.max_date else "",
            # Shorter forms for the opening's short turns: "5 de noviembre", "2 cuotas vencidas".
            "due_day": short_date(self.due_date) if self.due_date else "",
            "max_day": short_date(self.max_date) if self.max_date else "",
            "overdue_installments": (f"{self.installments_owed} cuota{'s' if self.installments_owed != 1 else ''} "
                                     f"vencida{'s' if self.installments_owed != 1 else ''}")
            if self.installments_owed is not None else "",
            "payment_link_via": self.payment_link_via,
            "payment_instructions": slowly(self.payment_instructions),
        }
        if (promise := self.broken_promise) is not None:
            values |= {"promised_day": spoken_date(promise.day), "promised_amount": str(promise.amount),
                       "broken_promise": f"{promise.amount} pesos el {spoken_date(promise.day)}"
                       + (f" (la primera de {promise.installments} cuotas)" if promise.installments else "")}
        return {**dict(self.extra), **values}


@dataclass(frozen=True, slots=True)
class Flow:
    name: str
    description: str
    prompts: Mapping[str, str]
    negotiation: Terms = field(default_factory=Terms)  # what the flow may agree to (its `[negotiation]` table)
    # The opening after the identity is confirmed: prompts said one per turn, each ending in a question
    # (agent/opening.py); the debt's facts only in or after "debt", never in the first.
    briefing: tuple[str, ...] = DEFAULT_BRIEFING
    reminder_briefing: tuple[str, ...] = DEFAULT_REMINDER_BRIEFING  # the same for a broken promise's reminder

    @classmethod
    def from_toml(cls, text: str, source: str = "flow") -> Flow:
        data = tomllib.loads(text)
        prompts = {**DEFAULT_PROMPTS, **dict(data.get("prompts") or {})}
        missing = REQUIRED_PROMPTS - set(prompts)
        if missing:
            raise FlowError(f"{source}: prompts missing: {', '.join(sorted(missing))}")
        check_templates(prompts, source)
        try:
            terms = Terms.from_mapping(data.get("negotiation"), source)
        except ValueError as exc:
            raise FlowError(str(exc)) from exc
        briefing = tuple(data.get("briefing") or DEFAULT_BRIEFING)
        reminder = tuple(data.get("reminder_briefing") or DEFAULT_REMINDER_BRIEFING)
        for pieces, facts in ((briefing, "debt"), (reminder, "reminder")):
            if any(key not in prompts for key in pieces) or facts not in pieces or pieces[0] == facts:
                raise FlowError(f"{source}: {list(pieces)} must name prompts, hold {facts!r}, not first")
        return cls(data.get("name", source), data.get("description", ""), prompts, terms, briefing, reminder)

    def say(self, key: str, variables: Mapping[str, str]) -> str:
        """The prompt with the variables filled in; an unknown or empty variable leaves no '{x}' behind."""
        return fill(self.prompts[key], variables)


def check_templates(prompts: Mapping[str, str], source: str) -> None:
    """FlowError naming the first prompt that is not a valid `{placeholder}` template (a flow's, a script's)."""
    for key, prompt in prompts.items():
        try:
            list(string.Formatter().parse(prompt))
        except ValueError as exc:
            raise FlowError(f"{source}: prompt {key!r} is not a valid template: {exc}") from exc


def fill(template: str, variables: Mapping[str, str]) -> str:
    """A prompt with its variables filled in; an unknown or empty variable leaves no '{x}' behind."""
    return string.Formatter().vformat(template, (), _Blank(variables)).strip()


def slowly(text: str) -> str:
    """Long digit strings (an account number, a RUT) said in pairs with a pause between them: "12345678"
    -> "12, 34, 56, 78". A voice reading "12345678" says twelve million...; nobody can write that down."""
    def pairs(match: re.Match[str]) -> str:
        digits = match.group().replace(".", "")
        return ", ".join(digits[i:i + 2] for i in range(0, len(digits), 2))
    return re.sub(r"\d[\d.]{4,}\d", pairs, text)


class _Blank(dict):
    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)

    def __missing__(self, key: str) -> str:
        return ""


@functools.cache
def bundled_flows() -> dict[str, Flow]:
    flows = {}
    for entry in resources.files("agent.flows").iterdir():
        if entry.name.endswith(".toml"):
            flow = Flow.from_toml(entry.read_text("utf-8"), entry.name)
            flows[flow.name] = flow
    return flows


def load_flow(name: str, directory: str | Path | None = None) -> Flow:
    """A flow by name: from `directory` (an operator's own flows) first, then the bundled ones."""
    if directory:
        path = Path(directory) / f"{name}.toml"
        if path.is_file():
            return Flow.from_toml(path.read_text("utf-8"), str(path))
    flows = bundled_flows()
    if name not in flows:
        raise FlowError(f"no flow named {name!r} (bundled: {', '.join(sorted(flows))})")
    return flows[name]
