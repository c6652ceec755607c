"""What an analyzer reads: the call's transcript and the facts the call already recorded.

The facts come from the record, not from the words: the result the agent's tools set (promise,
callback, wrong_number, transfer, refused, ...), the promise row a tool stored, the call's outcome.
They outrank what the analyzer reads in the transcript (a registered promise is the promise, even
if speech recognition garbled the amount), and `call_at` is the moment relative dates were said
against: "el viernes" means the Friday after the call, not after the analysis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

__all__ = ["AnalysisInput", "CallFacts", "RegisteredPromise", "Utterance"]

Speaker = Literal["agent", "caller"]


@dataclass(frozen=True, slots=True)
class Utterance:
    """One line of a stored transcript, as the analyzers read it (offset in ms from the answer)."""

    speaker: Speaker
    text: str
    start_ms: int | None = None


@dataclass(frozen=True, slots=True)
class RegisteredPromise:
    """A promise the agent's register_promise tool stored during the call."""

    date: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class CallFacts:
    call_at: datetime  # aware: when the call was answered
    outcome: str = "answered"
    result: str | None = None
    promise: RegisteredPromise | None = None
    debtor_name: str | None = None
    delinquency_type: str = ""
    amount_owed: Decimal | None = None
    purpose: str = "collection"  # the job's: 'collection', 'promise_reminder', or 'sales' (analysis.sales)
    lead: Mapping[str, Any] | None = None  # a sales call's record_lead, as its lead_qualified event holds it


@dataclass(frozen=True, slots=True)
class AnalysisInput:
    facts: CallFacts
    lines: tuple[Utterance, ...] = field(default_factory=tuple)

    @property
    def caller_lines(self) -> tuple[Utterance, ...]:
        """What the caller said, in order, empty lines left out (their count is the turn count)."""
        return tuple(line for line in self.lines if line.speaker == "caller" and line.text.strip())
