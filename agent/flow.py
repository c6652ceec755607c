"""Negotiation flows as data: the words of each step, per delinquency type, with the debtor's variables.

A flow is a TOML file in `agent/flows/` (or a directory an operator points to): its prompts are
plain Spanish with `{placeholders}`. The rule engine walks the same steps for every flow; the
LLM gets the same facts in its system prompt. Debt details are only ever spoken after the
identity check, whoever the brain is.
"""

from __future__ import annotations

import functools
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path

MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
          "noviembre", "diciembre")
WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
REQUIRED_PROMPTS = frozenset({
    "identity", "identity_again", "not_the_debtor", "notice", "debt", "ask_date", "ask_amount", "confirm_promise",
    "promise_registered", "promise_too_late", "offer_installments", "callback_booked", "transfer", "already_paid",
    "stop_calling", "wrong_number", "dispute", "payment_link", "not_understood", "goodbye", "reprompt",
    "no_input_goodbye", "no_agent", "voicemail",
})


class FlowError(ValueError):
    pass


def spoken_date(day: date) -> str:
    """'martes 15 de diciembre': how a date is said on the phone."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} de {MONTHS[day.month - 1]}"


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
        }
        return {**dict(self.extra), **values}


@dataclass(frozen=True, slots=True)
class Flow:
    name: str
    description: str
    prompts: Mapping[str, str]

    @classmethod
    def from_toml(cls, text: str, source: str = "flow") -> Flow:
        data = tomllib.loads(text)
        prompts = dict(data.get("prompts") or {})
        missing = REQUIRED_PROMPTS - set(prompts)
        if missing:
            raise FlowError(f"{source}: prompts missing: {', '.join(sorted(missing))}")
        for key, prompt in prompts.items():
            try:
                list(string.Formatter().parse(prompt))
            except ValueError as exc:
                raise FlowError(f"{source}: prompt {key!r} is not a valid template: {exc}") from exc
        return cls(data.get("name", source), data.get("description", ""), prompts)

    def say(self, key: str, variables: Mapping[str, str]) -> str:
        """The prompt with the variables filled in; an unknown or empty variable leaves no '{x}' behind."""
        return string.Formatter().vformat(self.prompts[key], (), _Blank(variables)).strip()


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
