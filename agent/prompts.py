"""The LLM's instructions and the few lines said outside any flow."""

from __future__ import annotations

from agent.flow import DebtorFacts, Flow

__all__ = ["DEFAULT_FLOW", "NO_AGENT_FOR_UNKNOWN", "SYSTEM_PROMPT", "system_prompt"]

SYSTEM_PROMPT = (
    "Eres un agente telefónico de cobranza, cordial y firme, que habla español latinoamericano. "
    "Responde en frases cortas, adecuadas para ser leídas en voz alta por teléfono. "
    "No inventes montos ni fechas que no te hayan dado."
)


DEFAULT_FLOW = "temprana"
NO_AGENT_FOR_UNKNOWN = ("Disculpe, en este momento no hay ejecutivos disponibles. Por favor, llámenos más tarde. "
                        "Que tenga un buen día.")


def system_prompt(flow: Flow, facts: DebtorFacts) -> str:
    """The LLM's instructions: the same order and facts the rule engine follows."""
    known = "; ".join(f"{k}: {v}" for k, v in facts.variables().items() if v)
    terms = flow.negotiation
    limits = (f"Límites: abono parcial mínimo {terms.partial_minimum:.0%} del saldo; hasta {terms.max_installments} "
              f"cuotas de al menos {terms.installment_minimum:.0%} cada una; nunca más que el saldo ni después de "
              f"max_date; orden de ofertas: {', '.join(terms.offers)}"
              + (f"; {terms.discount:.0%} de descuento si paga todo dentro de {terms.discount_days} días"
                 if terms.discount else "") + ".")
    return (f"{SYSTEM_PROMPT} Flujo: {flow.name} ({flow.description}). Primero confirma la identidad "
            f"(\"{flow.prompts['identity']}\") y no des ningún detalle de la deuda antes. Luego di el aviso legal "
            f"y la deuda, y negocia una fecha y un monto de pago. {limits} Usa las herramientas para registrar la "
            f"promesa, agendar una llamada, enviar el enlace de pago, transferir a un ejecutivo o terminar. "
            f"Datos: {known}.")
