"""How a call came to be: an originate we asked for, or a channel the dialplan sent to Stasis.

The dialplan (dialplan/extensions.conf) says what an inbound channel is through Stasis arguments:

    inbound,<exten>[,identify]             a call in; 'identify': ask an unknown caller for their RUT
    transfer_failed,<DIALSTATUS>,<attempt>  a caller no human agent answered, back from [human-agents]

and an outbound call we placed enters it as ``outbound,<attempt>`` (straight from the originate), or
``outbound,<attempt>,<AMDSTATUS>,<AMDCAUSE>`` after answering-machine detection ([outbound-amd]).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(slots=True)
class OutboundRequest:
    endpoint: str  # PJSIP/<number>@<trunk>
    number: str
    caller_id: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    job_id: int | None = None
    campaign_id: int | None = None
    debtor_id: int | None = None
    phone_id: int | None = None
    answering_machine: str = "off"  # 'hangup' / 'message': detect one (AMD) and act; 'off': do not detect


@dataclass(frozen=True, slots=True)
class InboundLeg:
    line: str = ""  # the number or extension dialed
    identify: bool = False
    returning_from: uuid.UUID | None = None  # the attempt whose transfer nobody answered
    dial_status: str = ""

    @classmethod
    def from_args(cls, args: Sequence[str], exten: str = "") -> InboundLeg:
        # Items, not a slice compared with a list: a StasisStart's args are a tuple, never equal to a list.
        if args and args[0] == "transfer_failed":
            try:
                attempt = uuid.UUID(args[2]) if len(args) > 2 else None
            except ValueError:
                attempt = None  # a hand-written dialplan without the attempt: a general caller
            return cls(line=exten, returning_from=attempt, dial_status=args[1] if len(args) > 1 else "")
        return cls(line=args[1] if len(args) > 1 else exten, identify="identify" in args[2:])


@dataclass(frozen=True, slots=True)
class AmdVerdict:
    """What Asterisk's AMD() made of the first seconds after the answer (AMDSTATUS, AMDCAUSE)."""

    status: str  # MACHINE, HUMAN, NOTSURE or HANGUP
    cause: str = ""  # e.g. LONGGREETING-2000-1500, INITIALSILENCE-2500-2500

    @property
    def machine(self) -> bool:
        # Silence after the answer is most often a person waiting to hear who calls (common on
        # collection calls), so only a machine heard talking counts as one.
        return self.status == "MACHINE" and not self.cause.startswith("INITIALSILENCE")

    @classmethod
    def from_args(cls, args: Sequence[str]) -> AmdVerdict | None:
        if not args or args[0] != "outbound" or len(args) < 3 or not args[2]:
            return None
        return cls(args[2], args[3] if len(args) > 3 else "")
