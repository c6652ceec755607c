"""How a call came to be: an originate we asked for, or a channel the dialplan sent to Stasis.

The dialplan (dialplan/extensions.conf) says what an inbound channel is through Stasis arguments:

    inbound,<exten>[,identify]             a call in; 'identify': ask an unknown caller for their RUT
    transfer_failed,<DIALSTATUS>,<attempt>  a caller no human agent answered, back from [human-agents]
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


@dataclass(frozen=True, slots=True)
class InboundLeg:
    line: str = ""  # the number or extension dialed
    identify: bool = False
    returning_from: uuid.UUID | None = None  # the attempt whose transfer nobody answered
    dial_status: str = ""

    @classmethod
    def from_args(cls, args: Sequence[str], exten: str = "") -> InboundLeg:
        if args[:1] == ["transfer_failed"]:
            try:
                attempt = uuid.UUID(args[2]) if len(args) > 2 else None
            except ValueError:
                attempt = None  # a hand-written dialplan without the attempt: a general caller
            return cls(line=exten, returning_from=attempt, dial_status=args[1] if len(args) > 1 else "")
        return cls(line=args[1] if len(args) > 1 else exten, identify="identify" in args[2:])
