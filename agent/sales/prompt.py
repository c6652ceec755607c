"""A sales call's instructions for an LLM: the same order and figures the built-in sales agent keeps."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from agent.prompts import time_and_calendar
from agent.sales.cues import OBJECTION_LABELS
from agent.sales.script import OFFER_FACTS, SalesScript

__all__ = ["sales_prompt"]

SALES_ROLE = (
    "Eres un agente telefónico de ventas, cordial y breve, que habla español latinoamericano. Responde en frases "
    "cortas, adecuadas para ser leídas en voz alta por teléfono. Nunca inventes tasas, montos, plazos ni requisitos: "
    "di solo las cifras de la oferta que te damos; si te preguntan otra cosa, ofrece que un ejecutivo lo responda."
)
SALES_RULES = (
    "Primero confirma que hablas con la persona (\"{identity}\"); a nadie más le cuentes la oferta. Luego di quién "
    "eres, de qué empresa, que la llamada es grabada, la oferta en una frase y pregunta si le interesa conocer las "
    "condiciones. Responde sus preguntas con las cifras de la oferta, atiende cada objeción una vez con respeto y "
    "ofrece que un ejecutivo le llame para la simulación. Si dice que no dos veces, despídete sin insistir más. "
    "Antes de terminar la llamada usa record_lead una sola vez, como tu última acción, después de despedirte: "
    "interest de 1 a 5 (1 sin interés, 2 bajo, 3 indeciso, 4 interesado, 5 acepta que lo llame un ejecutivo o "
    "quiere solicitarlo), key_points (monto o plazo que le interesa, lo que preguntó) y objections ({objections}). "
    "Si pide que lo llamen en otro momento usa schedule_callback; si pide hablar ya con una persona, "
    "transfer_to_agent; si pide que no lo llamen más, stop_calling; si no es su número, report_wrong_number."
)


def sales_prompt(script: SalesScript, *, full_name: str, company: str, now: datetime, country: str | None,
                 variables: Mapping[str, str] | None = None, called_in: bool = False) -> str:
    """The LLM's instructions for one sales call (`now`: aware, in the lead's zone; `called_in`: the lead
    dialled back, so the example opening thanks them for it)."""
    offer = {**script.offer, **{k: v for k, v in (variables or {}).items() if k in OFFER_FACTS}}
    figures = "; ".join(f"{k}: {offer[k]}" for k in OFFER_FACTS)
    known = "; ".join(f"{k}: {v}" for k, v in (variables or {}).items() if v and k not in OFFER_FACTS)
    opening = script.prompts["identity_called_in" if called_in else "identity"]
    rules = SALES_RULES.format(identity=opening.replace("{greeting}", "buenos días")
                               .replace("{first_name}", full_name.split()[0] if full_name.strip() else "")
                               .replace("{company}", company),
                               objections=", ".join(f"{k} ({v})" for k, v in OBJECTION_LABELS.items()))
    return (f"{SALES_ROLE} {time_and_calendar(now, country)} {rules} Guion: {script.name} ({script.description}). "
            f"Oferta de {company}: {figures}. Cliente: {full_name}" + (f"; {known}" if known else "") + ".")
