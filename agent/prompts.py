"""The LLM's instructions and the few lines said outside any flow.

A debtor's system prompt is built per call, from the call's clock (`now`, aware, in the debtor's
zone): the model is told today's date, weekday and time, the debtor's timezone, a calendar of the
coming days (holidays marked) and the next moments the country's law allows a call, so that "el
viernes", "fin de mes" or "llámeme mañana a las cinco" become the ISO dates and times its tools
take; then the flow's limits, the debt's maximum date and the balance.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

from agent.flow import WEEKDAYS, DebtorFacts, Flow, load_flow, spoken_date
from agent.vocabulary import Refusal
from countries import country as find_country
from countries.profile import CountryProfile, profile_for
from media.responder import ActionResult

__all__ = ["DEFAULT_FLOW", "INBOUND_PROMPT", "NO_AGENT_FOR_UNKNOWN", "SYSTEM_PROMPT", "debtor_brief",
           "refusal_words", "system_prompt", "time_and_calendar"]

SYSTEM_PROMPT = (
    "Eres un agente telefónico de cobranza, cordial y firme, que habla español latinoamericano. "
    "Responde en frases cortas, adecuadas para ser leídas en voz alta por teléfono. "
    "No inventes montos ni fechas que no te hayan dado."
)
# The opening in short turns (agent/opening.py, docs/dialogue-spec.md): what the rule engine does, said to a model.
OPENING_RULES = (
    "Habla en turnos cortos, de unos diez segundos como máximo, y termina cada uno con una pregunta: primero el "
    "aviso (quién eres, de qué empresa, que la llamada es grabada y el motivo en general) y \"¿Tiene un "
    "momento?\"; los datos de la deuda solo después de que la persona acepte."
)
# A barge-in leaves the assistant messages as heard (LlmAgent.correct_last_reply): the notice heard first.
HEARD_RULES = (
    " Tus mensajes guardan solo lo que la persona escuchó: uno que termina en \"…\" o al que le falta el final "
    "fue interrumpido. Si no escuchó el aviso completo (quién eres, de qué empresa, que la llamada es grabada y "
    "el motivo), di lo que le faltó (\"Antes de seguir, le informo que esta llamada es grabada...\") antes de dar "
    "la deuda o de repetir una promesa, y luego responde a lo que dijo."
)
REMINDER_RULES = (
    " Esta llamada es un recordatorio: la persona se comprometió a pagar (broken_promise en los datos) y el pago no "
    "está registrado. Después del aviso, recuérdale la promesa y pregunta si pudo realizar el pago: si dice que "
    "pagó, termina con el resultado already_paid; si da una fecha nueva, registra esa promesa; si no pagó, dile su "
    "saldo y pide una fecha nueva."
)
TOOL_RULES = (
    "Usa las herramientas para registrar la promesa, agendar una llamada, enviar el enlace de pago, transferir a "
    "un ejecutivo o terminar. Cada herramienta te devuelve su resultado: di que la promesa quedó registrada solo "
    "si register_promise respondió ok; si respondió refused, explica el motivo con palabras simples y negocia "
    "otra fecha o monto dentro de los límites."
)
INBOUND_PROMPT = (
    f"{SYSTEM_PROMPT} Atiendes una llamada entrante de alguien que aún no se identificó. Antes de hablar de "
    "cualquier deuda, pide su RUT con el dígito verificador y los últimos cuatro dígitos de un teléfono que "
    "tengamos registrado a su nombre, y búscalo con la herramienta lookup_customer. Solo "
    "cuando la herramienta responda ok conoces al deudor: su resultado trae sus datos y sus límites; entonces da "
    "el aviso legal y la deuda, y negocia. Si responde refused, pide ambos otra vez; nunca digas datos de una "
    f"deuda a quien no se identificó. Si pide una persona, transfiérelo.{HEARD_RULES} {TOOL_RULES}"
)

DEFAULT_FLOW = "temprana"
NO_AGENT_FOR_UNKNOWN = ("Disculpe, en este momento no hay ejecutivos disponibles. Por favor, llámenos más tarde. "
                        "Que tenga un buen día.")
CALENDAR_DAYS = 14  # the days listed, today first: enough for "el otro viernes" and most promises
OPEN_MOMENTS = 3  # the next moments a call is allowed, said with their hours
_SHORT_DAYS = ("lun", "mar", "mié", "jue", "vie", "sáb", "dom")
# The flow's words for a promise the record refused, by the refusal's code (agent/flows/*.toml).
_REFUSAL_PROMPTS = {Refusal.DATE_AFTER_MAX: "promise_refused_too_late",
                    Refusal.AMOUNT_OVER_DEBT: "promise_refused_over_balance",
                    Refusal.DATE_PAST: "promise_refused_past"}
PROMISE_NOT_REGISTERED = "Disculpe, no pude registrar su compromiso."


def _offset(now: datetime) -> str:
    text = now.strftime("%z")  # "-0300"
    return f"{text[:3]}:{text[3:]}" if text else "+00:00"


def _profile(country_code: str | None) -> CountryProfile | None:
    found = find_country(country_code) if country_code else None
    if found is None or found.profile_toml() is None:
        return None
    return profile_for([found.code])


def time_and_calendar(now: datetime, country_code: str | None = None) -> str:
    """Today, the time and zone, the coming days (holidays marked) and the next moments calls are allowed."""
    zone = getattr(now.tzinfo, "key", None) or now.tzname() or "UTC"
    today = now.date()
    profile = _profile(country_code)
    days = []
    for n in range(CALENDAR_DAYS):
        day = today + timedelta(days=n)
        label = f"{_SHORT_DAYS[day.weekday()]} {day.isoformat()}"
        label += " (hoy)" if n == 0 else " (mañana)" if n == 1 else ""
        if profile is not None and (holiday := profile.holiday(day)):
            label += f" (feriado: {holiday})"
        days.append(label)
    month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    text = (f"Hoy es {WEEKDAYS[today.weekday()]} {today.isoformat()} ({spoken_date(today)}); son las "
            f"{now:%H:%M} en la zona horaria del cliente, {zone} (UTC{_offset(now)}). Calendario: "
            f"{'; '.join(days)}. Fin de mes: {month_end.isoformat()}. Convierte las fechas que diga el cliente "
            f"('el viernes', 'fin de mes', 'pasado mañana') a AAAA-MM-DD con este calendario, y las horas de "
            f"schedule_callback a ISO 8601 con el desfase {_offset(now)}.")
    if profile is not None:
        text += f" Horario legal de llamadas ({profile.name}): {_hours(profile)}, nunca en feriados."
        text += f" Próximos momentos en que se puede llamar: {'; '.join(_open_moments(profile, now))}."
    return text


def _hours(profile: CountryProfile) -> str:
    parts = [f"{_SHORT_DAYS[i]} {w.start:%H:%M}-{w.end:%H:%M}" for i, w in enumerate(profile.hours) if w]
    return ", ".join(parts) or "ninguno"


def _open_moments(profile: CountryProfile, now: datetime) -> list[str]:
    """The next `OPEN_MOMENTS` stretches of time a call is allowed, from `now`."""
    found, moment = [], now
    while len(found) < OPEN_MOMENTS:
        start = profile.next_open(moment)
        window = profile.window(start.date())
        assert window is not None
        found.append(f"{_SHORT_DAYS[start.weekday()]} {start.date().isoformat()} de {start:%H:%M} a "
                     f"{window.end:%H:%M}")
        moment = datetime.combine(start.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)
    return found


def debtor_brief(flow: Flow, facts: DebtorFacts) -> str:
    """The debtor's facts and what the flow may agree to: the debtor part of the prompt, and what
    lookup_customer tells the model once an inbound caller proved who they are."""
    known = "; ".join(f"{k}: {v}" for k, v in facts.variables().items() if v)
    terms = flow.negotiation
    limits = (f"Límites: abono parcial mínimo {terms.partial_minimum:.0%} del saldo; hasta {terms.max_installments} "
              f"cuotas de al menos {terms.installment_minimum:.0%} cada una; nunca más que el saldo ni después de "
              f"max_date; orden de ofertas: {', '.join(terms.offers)}"
              + (f"; {terms.discount:.0%} de descuento si paga todo dentro de {terms.discount_days} días"
                 if terms.discount else "") + ".")
    figures = []
    if facts.amount_owed is not None:
        figures.append(f"saldo (amount_owed): {facts.amount_owed} pesos")
    if facts.max_date is not None:
        figures.append(f"fecha máxima de pago (max_date): {facts.max_date.isoformat()}")
    if facts.payment_link_via:
        paying = f"Enlace de pago: send_payment_link lo envía por {facts.payment_link_via} a este número."
    else:  # nothing would send it: the model must not promise a message
        paying = ("No hay envío de enlaces de pago: no ofrezcas enviar nada por mensaje; para pagar: "
                  + (f"transferencia ({facts.payment_instructions})." if facts.payment_instructions
                     else "directamente con la empresa."))
    return (f"Flujo: {flow.name} ({flow.description}). {limits} "
            + (f"{'; '.join(figures)}. " if figures else "") + f"{paying} Datos: {known}.")


def system_prompt(flow: Flow, facts: DebtorFacts, *, now: datetime, country: str | None = None,
                  called_in: bool = False) -> str:
    """The LLM's instructions for one call: the same order and facts the rule engine follows, and the
    call's own clock and calendar (`now`: aware, in the debtor's zone). `called_in`: the debtor dialled
    us and was known by their number, so the example opening thanks them for calling."""
    opening = flow.prompts["identity_called_in" if called_in else "identity"]
    return (f"{SYSTEM_PROMPT} {time_and_calendar(now, country)} Primero confirma la identidad "
            f"(\"{opening}\") y no des ningún detalle de la deuda antes. Luego di el aviso legal "
            f"y la deuda, y negocia una fecha y un monto de pago. {OPENING_RULES}{HEARD_RULES}"
            f"{REMINDER_RULES if facts.broken_promise is not None else ''} {TOOL_RULES} {debtor_brief(flow, facts)}")


def refusal_words(flow: Flow | None = None, facts: DebtorFacts | None = None) -> Callable[[ActionResult], str]:
    """What the agent says for a promise the record refused, in the flow's words (the record's bound,
    when it gave one, replacing the card's). With no flow (an inbound caller the model identified
    itself), the default flow's words and the record's bound alone."""
    words = flow or load_flow(DEFAULT_FLOW)

    def explain(result: ActionResult) -> str:
        key = _REFUSAL_PROMPTS.get(result.code)  # type: ignore[call-overload]
        variables = facts.variables() if facts is not None else {}
        if result.limit and result.code == Refusal.DATE_AFTER_MAX:
            variables["max_date"] = spoken_date(date.fromisoformat(result.limit))
        elif result.limit and result.code == Refusal.AMOUNT_OVER_DEBT:
            variables["amount_owed"] = str(int(Decimal(result.limit)))
        needed = {Refusal.DATE_AFTER_MAX: "max_date", Refusal.AMOUNT_OVER_DEBT: "amount_owed"}.get(result.code)
        if key is None or (needed is not None and not variables.get(needed)):
            return PROMISE_NOT_REGISTERED
        return words.say(key, variables)

    return explain
