"""The collections agent's tools: their schemas for an OpenAI-compatible model, and typed commands.

Both brains (the LLM and the built-in rule engine) end in the same commands, so the call executes
one set of actions whoever decided. The model's arguments are checked here, where a wrong date or
a negative amount becomes a `ToolArgumentError` instead of a database error mid-call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from agent.llm import ToolCall


class ToolArgumentError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class RegisterPromise:
    promised_date: date
    amount: Decimal
    installments: int | None = None


@dataclass(frozen=True, slots=True)
class ScheduleCallback:
    when: datetime  # aware
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SendPaymentLink:
    pass


@dataclass(frozen=True, slots=True)
class TransferToAgent:
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ReportWrongNumber:
    pass


@dataclass(frozen=True, slots=True)
class StopCalling:
    pass


@dataclass(frozen=True, slots=True)
class EndCall:
    outcome: str  # the conversation's result: already_paid, refused, dispute, cannot_pay, ...


ToolCommand = (RegisterPromise | ScheduleCallback | SendPaymentLink | TransferToAgent | ReportWrongNumber
               | StopCalling | EndCall)

END_CALL_OUTCOMES = ("already_paid", "refused", "dispute", "cannot_pay", "completed", "hung_up")


def _function(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": properties, "required": required,
                       "additionalProperties": False}}}


TOOL_SCHEMAS: list[dict[str, Any]] = [
    _function("register_promise", "Registrar la promesa de pago del deudor (fecha y monto que él acepta).",
              {"date": {"type": "string", "description": "fecha de pago, AAAA-MM-DD"},
               "amount": {"type": "number", "description": "monto en pesos"},
               "installments": {"type": "integer", "description": "número de cuotas, si paga en cuotas"}},
              ["date", "amount"]),
    _function("schedule_callback", "Agendar una nueva llamada a la hora que el deudor pidió.",
              {"when": {"type": "string", "description": "fecha y hora ISO 8601 con zona horaria"},
               "reason": {"type": "string"}}, ["when"]),
    _function("send_payment_link", "Enviar al deudor el enlace de pago (por WhatsApp o SMS).", {}, []),
    _function("transfer_to_agent", "Transferir la llamada a un ejecutivo humano.",
              {"reason": {"type": "string"}}, ["reason"]),
    _function("report_wrong_number", "La persona que contesta no es el deudor ni lo conoce.", {}, []),
    _function("stop_calling", "El deudor pidió que no lo vuelvan a llamar.", {}, []),
    _function("end_call", "Terminar la llamada con su resultado.",
              {"outcome": {"type": "string", "enum": list(END_CALL_OUTCOMES)}}, ["outcome"]),
]


def command_from(call: ToolCall) -> ToolCommand:
    """The typed command for a model's tool call; ToolArgumentError when its arguments are wrong."""
    args = call.arguments
    try:
        match call.name:
            case "register_promise":
                amount = Decimal(str(args["amount"]))
                installments = int(args["installments"]) if args.get("installments") is not None else None
                return RegisterPromise(date.fromisoformat(str(args["date"])), amount, installments)
            case "schedule_callback":
                when = datetime.fromisoformat(str(args["when"]))
                if when.tzinfo is None:
                    raise ToolArgumentError("schedule_callback: 'when' needs a timezone offset")
                return ScheduleCallback(when, str(args.get("reason", "")))
            case "send_payment_link":
                return SendPaymentLink()
            case "transfer_to_agent":
                return TransferToAgent(str(args.get("reason", "")))
            case "report_wrong_number":
                return ReportWrongNumber()
            case "stop_calling":
                return StopCalling()
            case "end_call":
                outcome = str(args.get("outcome", "completed"))
                if outcome not in END_CALL_OUTCOMES:
                    raise ToolArgumentError(f"end_call: unknown outcome {outcome!r}")
                return EndCall(outcome)
    except (KeyError, ValueError, TypeError, InvalidOperation) as exc:
        if isinstance(exc, ToolArgumentError):
            raise
        raise ToolArgumentError(f"{call.name}: bad arguments {args!r} ({exc})") from exc
    raise ToolArgumentError(f"unknown tool {call.name!r}")
