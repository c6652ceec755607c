"""The collections agent's tools: their schemas for an OpenAI-compatible model, and typed commands.

Both brains (the LLM and the built-in rule engine) end in the same commands, so the call executes
one set of actions whoever decided. The model's arguments are checked here, where a wrong date or
a negative amount becomes a `ToolArgumentError` instead of a database error mid-call.

Each tool is one command class, which says everything about it: its `name` (`agent.vocabulary`),
its OpenAI `schema`, how the model's arguments are read (`parse`), and how the call carries it out:
the `campaigns.actions.CallActions` method named by `action` is awaited with the call's context
and `arguments(now)`, and `reply(what it returned)` is the text the agent may read back. The
call's runner (`ari_app.calls.tools`) dispatches every command the same way, through `COMMANDS`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Self

from agent.llm import ToolCall
from agent.vocabulary import CallResult, Refusal, ToolName
from media.responder import ActionResult


class ToolArgumentError(ValueError):
    def result(self) -> ActionResult:
        """The refusal the agent reads back for a call it got wrong (an unknown tool, unreadable arguments)."""
        return ActionResult(False, f"refused: {self}", Refusal.BAD_ARGUMENTS, str(self))


def _function(name: ToolName, description: str, properties: dict[str, Any] | None = None,
              required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": str(name), "description": description,
        "parameters": {"type": "object", "properties": properties or {}, "required": required or [],
                       "additionalProperties": False}}}


class ToolCommand:
    """What every tool's command declares; the defaults suit a tool whose fields are its action's arguments."""

    __slots__ = ()
    name: ClassVar[ToolName]
    schema: ClassVar[dict[str, Any]]  # the OpenAI function schema the model is given
    action: ClassVar[str]  # the `campaigns.actions.CallActions` method that carries it out
    # Carried out by the call's party (`ari_app.calls.party.CallParty`, its method `action`) rather than
    # the record: the tool changes who the call is with, which only the call knows.
    on_party: ClassVar[bool] = False

    @classmethod
    def parse(cls, args: Mapping[str, Any]) -> Self:
        """The command for the model's arguments (ToolArgumentError, KeyError, ValueError... when wrong)."""
        return cls()

    def arguments(self, now: datetime) -> dict[str, Any]:
        """The keyword arguments of `action`, after the call's context."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}  # type: ignore[arg-type]

    def reply(self, done: Any) -> str:
        """What the agent reads back once `action` returned `done`."""
        return "ok"


@dataclass(frozen=True, slots=True)
class RegisterPromise(ToolCommand):
    """One payment (`amount` on `promised_date`), or a plan: `installments` payments of
    `installment_amount`, the first on `promised_date`, together covering `amount`."""

    promised_date: date  # the payment's date; for a plan, the first instalment's
    amount: Decimal  # what is promised in all: for a plan, the total the instalments cover
    installments: int | None = None
    installment_amount: Decimal | None = None  # each instalment of a plan
    discount_percent: Decimal | None = None  # the flow's discount, when `amount` settles the balance with it

    name: ClassVar[ToolName] = ToolName.REGISTER_PROMISE
    schema: ClassVar[dict[str, Any]] = _function(
        name, "Registrar la promesa de pago del deudor (fecha y monto que él acepta), o su plan de cuotas.",
        {"date": {"type": "string", "description": "fecha de pago, AAAA-MM-DD; en un plan, la de la primera cuota"},
         "amount": {"type": "number", "description": "monto total prometido en pesos; en un plan, lo que cubren "
                                                     "todas las cuotas juntas"},
         "installments": {"type": "integer", "description": "número de cuotas, si paga en cuotas"},
         "installment_amount": {"type": "number", "description": "monto de cada cuota, si paga en cuotas"},
         "discount_percent": {"type": "number", "description": "descuento del flujo aplicado (p. ej. 10), si "
                                                               "paga el total con descuento"}},
        ["date", "amount"])
    action: ClassVar[str] = "register_promise"

    @classmethod
    def parse(cls, args: Mapping[str, Any]) -> Self:
        amount = Decimal(str(args["amount"]))
        installments = int(args["installments"]) if args.get("installments") is not None else None
        each = Decimal(str(args["installment_amount"])) if args.get("installment_amount") is not None else None
        if installments is not None and installments < 1:
            raise ToolArgumentError(f"{cls.name}: installments must be at least 1")
        if each is not None and installments is None:
            raise ToolArgumentError(f"{cls.name}: installment_amount needs installments")
        discount = Decimal(str(args["discount_percent"])) if args.get("discount_percent") is not None else None
        return cls(date.fromisoformat(str(args["date"])), amount, installments, each, discount)

    def arguments(self, now: datetime) -> dict[str, Any]:
        return {"promised_date": self.promised_date, "amount": self.amount, "today": now.date(),
                "installments": self.installments, "installment_amount": self.installment_amount,
                "discount_percent": self.discount_percent}

    def reply(self, done: Any) -> str:
        return f"ok: promise {done} for {self.promised_date.isoformat()}"


@dataclass(frozen=True, slots=True)
class ScheduleCallback(ToolCommand):
    when: datetime  # aware
    reason: str = ""

    name: ClassVar[ToolName] = ToolName.SCHEDULE_CALLBACK
    schema: ClassVar[dict[str, Any]] = _function(
        name, "Agendar una nueva llamada a la hora que el deudor pidió.",
        {"when": {"type": "string", "description": "fecha y hora ISO 8601 con zona horaria"},
         "reason": {"type": "string"}}, ["when"])
    action: ClassVar[str] = "schedule_callback"

    @classmethod
    def parse(cls, args: Mapping[str, Any]) -> Self:
        when = datetime.fromisoformat(str(args["when"]))
        if when.tzinfo is None:
            raise ToolArgumentError(f"{cls.name}: 'when' needs a timezone offset")
        return cls(when, str(args.get("reason", "")))

    def reply(self, done: Any) -> str:
        return f"ok: callback booked for {done.isoformat()}"


@dataclass(frozen=True, slots=True)
class SendPaymentLink(ToolCommand):
    name: ClassVar[ToolName] = ToolName.SEND_PAYMENT_LINK
    schema: ClassVar[dict[str, Any]] = _function(
        name, "Enviar al deudor el enlace de pago por el canal de la empresa (WhatsApp o SMS); se rechaza si la "
        "empresa no envía enlaces.")
    action: ClassVar[str] = "send_payment_link"


@dataclass(frozen=True, slots=True)
class TransferToAgent(ToolCommand):
    reason: str = ""

    name: ClassVar[ToolName] = ToolName.TRANSFER_TO_AGENT
    schema: ClassVar[dict[str, Any]] = _function(name, "Transferir la llamada a un ejecutivo humano.",
                                                 {"reason": {"type": "string"}}, ["reason"])
    action: ClassVar[str] = "transfer_to_agent"

    @classmethod
    def parse(cls, args: Mapping[str, Any]) -> Self:
        return cls(str(args.get("reason", "")))


@dataclass(frozen=True, slots=True)
class ReportWrongNumber(ToolCommand):
    name: ClassVar[ToolName] = ToolName.REPORT_WRONG_NUMBER
    schema: ClassVar[dict[str, Any]] = _function(name, "La persona que contesta no es el deudor ni lo conoce.")
    action: ClassVar[str] = "wrong_number"


@dataclass(frozen=True, slots=True)
class StopCalling(ToolCommand):
    name: ClassVar[ToolName] = ToolName.STOP_CALLING
    schema: ClassVar[dict[str, Any]] = _function(name, "El deudor pidió que no lo vuelvan a llamar.")
    action: ClassVar[str] = "stop_calling"


@dataclass(frozen=True, slots=True)
class LookupCustomer(ToolCommand):
    """An inbound caller's RUT and the last four digits of a phone on file for them (the RUT alone is no
    secret: it is printed on every invoice); the check digit is checked where it is looked up."""

    rut: str
    phone_last4: str

    name: ClassVar[ToolName] = ToolName.LOOKUP_CUSTOMER
    schema: ClassVar[dict[str, Any]] = _function(
        name, "Identificar a quien llama por su RUT (con dígito verificador) y los últimos cuatro dígitos de un "
              "teléfono que tengamos registrado a su nombre: pide ambos antes de llamar. Si responde ok, trae los "
              "datos de su deuda; si responde refused, pide ambos de nuevo.",
        {"rut": {"type": "string", "description": "RUT con dígito verificador, p. ej. 12.345.678-5"},
         "phone_last4": {"type": "string", "description": "los últimos cuatro dígitos de su teléfono, p. ej. 4521"}},
        ["rut", "phone_last4"])
    action: ClassVar[str] = "lookup_customer"
    on_party: ClassVar[bool] = True

    @classmethod
    def parse(cls, args: Mapping[str, Any]) -> Self:
        rut = str(args["rut"]).strip()
        if not rut:
            raise ToolArgumentError(f"{cls.name}: an empty RUT")
        digits = "".join(ch for ch in str(args.get("phone_last4", "")) if ch.isdigit())
        if len(digits) != 4:
            raise ToolArgumentError(f"{cls.name}: phone_last4 must be four digits (ask the caller for them)")
        return cls(rut, digits)


@dataclass(frozen=True, slots=True)
class RecordLead(ToolCommand):
    """A sales call's lead, qualified: how interested (1 none .. 5 wants to go ahead), what a person taking
    it over should know, and what held them back."""

    interest: int
    key_points: tuple[str, ...] = ()
    objections: tuple[str, ...] = ()
    wants_contact: bool = False  # accepted an executive's call

    name: ClassVar[ToolName] = ToolName.RECORD_LEAD
    schema: ClassVar[dict[str, Any]] = _function(
        name, "Registrar el resultado de la oferta antes de despedirte: interés de 1 (ninguno) a 5 (quiere "
              "solicitarlo), puntos clave y objeciones.",
        {"interest": {"type": "integer", "minimum": 1, "maximum": 5,
                      "description": "1 sin interés, 2 bajo, 3 indeciso, 4 interesado, 5 quiere solicitarlo"},
         "key_points": {"type": "array", "items": {"type": "string"},
                        "description": "lo que debe saber el ejecutivo: monto o plazo que le interesa, dudas"},
         "objections": {"type": "array", "items": {"type": "string"},
                        "description": "objeciones: has_credit, rate, no_need, debt, trust, think, no_time, "
                                       "no_interest, u otra en pocas palabras"},
         "wants_contact": {"type": "boolean", "description": "aceptó que lo llame un ejecutivo"}},
        ["interest", "wants_contact"])
    action: ClassVar[str] = "record_lead"

    @classmethod
    def parse(cls, args: Mapping[str, Any]) -> Self:
        interest = args["interest"]
        if isinstance(interest, bool) or int(interest) != interest or not 1 <= int(interest) <= 5:
            raise ToolArgumentError(f"{cls.name}: interest must be an integer from 1 to 5, got {interest!r}")

        def texts(key: str) -> tuple[str, ...]:
            value = args.get(key) or []
            if not isinstance(value, list):
                raise ToolArgumentError(f"{cls.name}: {key} must be a list of short texts")
            return tuple(" ".join(str(v).split())[:200] for v in value if str(v).strip())[:10]
        return cls(int(interest), texts("key_points"), texts("objections"), args.get("wants_contact") is True)

    def arguments(self, now: datetime) -> dict[str, Any]:
        return {"interest": self.interest, "key_points": list(self.key_points), "objections": list(self.objections),
                "wants_contact": self.wants_contact}

    def reply(self, done: Any) -> str:
        return f"ok: lead recorded as {done}"


# The results a model may end a call with: its schema's enum.
END_CALL_OUTCOMES = (CallResult.ALREADY_PAID, CallResult.REFUSED, CallResult.DISPUTE, CallResult.CANNOT_PAY,
                     CallResult.COMPLETED, CallResult.HUNG_UP, CallResult.THIRD_PARTY)
# Closings only the system decides (the rule engine's: no person came back to the transferred caller, or
# nobody could be understood three times). end_call records them; the model is never offered them.
SYSTEM_END_CALL_OUTCOMES = (CallResult.NO_AGENT_AVAILABLE, CallResult.NOT_UNDERSTOOD)


@dataclass(frozen=True, slots=True)
class EndCall(ToolCommand):
    outcome: str  # the conversation's result: one of END_CALL_OUTCOMES or SYSTEM_END_CALL_OUTCOMES

    name: ClassVar[ToolName] = ToolName.END_CALL
    schema: ClassVar[dict[str, Any]] = _function(
        name, "Terminar la llamada con su resultado.",
        {"outcome": {"type": "string", "enum": [str(o) for o in END_CALL_OUTCOMES]}}, ["outcome"])
    action: ClassVar[str] = "end_call"

    @classmethod
    def parse(cls, args: Mapping[str, Any]) -> Self:
        outcome = str(args.get("outcome", CallResult.COMPLETED))
        if outcome not in END_CALL_OUTCOMES and outcome not in SYSTEM_END_CALL_OUTCOMES:
            raise ToolArgumentError(f"{cls.name}: unknown outcome {outcome!r}")
        return cls(CallResult(outcome))


# Every tool, in the order the model is given them.
COMMANDS: dict[ToolName, type[ToolCommand]] = {command.name: command for command in (
    RegisterPromise, ScheduleCallback, SendPaymentLink, TransferToAgent, ReportWrongNumber, StopCalling, EndCall,
    LookupCustomer, RecordLead)}

# A debtor's call: the call is theirs already, so no lookup; a lead is not qualified on it.
TOOL_SCHEMAS: list[dict[str, Any]] = [c.schema for c in COMMANDS.values()
                                      if not c.on_party and c is not RecordLead]
# A sales call: the lead is qualified, called back, passed to a person, or asks not to be called.
SALES_TOOL_SCHEMAS: list[dict[str, Any]] = [c.schema for c in (
    RecordLead, ScheduleCallback, TransferToAgent, ReportWrongNumber, StopCalling)]
# An inbound caller nobody recognised: the lookup first, then everything a debtor's call has.
INBOUND_TOOL_SCHEMAS: list[dict[str, Any]] = [LookupCustomer.schema, *TOOL_SCHEMAS]


def command_from(call: ToolCall) -> ToolCommand:
    """The typed command for a model's tool call; ToolArgumentError when its arguments are wrong."""
    command = COMMANDS.get(call.name)  # type: ignore[call-overload]  # a str: ToolName members equal theirs
    if command is None:
        raise ToolArgumentError(f"unknown tool {call.name!r}")
    args = call.arguments
    try:
        return command.parse(args)
    except ToolArgumentError:
        raise
    except (KeyError, ValueError, TypeError, InvalidOperation) as exc:
        raise ToolArgumentError(f"{call.name}: bad arguments {args!r} ({exc})") from exc
