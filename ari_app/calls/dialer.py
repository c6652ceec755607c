"""Outbound calls: turn a number into an originate through the trunk, tracked by a `Call`."""

from __future__ import annotations

import uuid

from ari_app.calls.call import Call, CallServices
from ari_app.calls.legs import OutboundRequest
from ari_app.calls.stasis import CallRouter
from campaigns.calls import Direction
from countries.dialing import NumberFormat, trunk_number


class OutboundDialer:
    def __init__(self, services: CallServices, router: CallRouter, trunk: str, caller_id: str = "", *,
                 number_format: NumberFormat = "+e164", dial_prefix: str = "") -> None:
        self._services = services
        self._router = router
        self._trunk = trunk
        self._caller_id = caller_id
        self._number_format = number_format
        self._dial_prefix = dial_prefix

    def dial(self, number: str, *, trunk: str | None = None, caller_id: str | None = None,
             variables: dict[str, str] | None = None, answering_machine: str = "off", **ids: int | None) -> Call:
        """Start an outbound call to `number` (E.164 or a lab extension); returns the live Call.

        `trunk` and `caller_id` override the process's defaults (a campaign brings its own).
        The channel id is chosen here so that the attempt row, the originate and every ARI event
        carry the same id from the first moment.
        """
        if not number or any(c not in "+0123456789" for c in number):
            raise ValueError("a number to dial has only digits and an optional leading +")
        attempt_id = uuid.uuid4()
        call = Call(
            self._services,
            direction=Direction.OUTBOUND,
            channel_id=f"out-{attempt_id}",
            attempt_id=attempt_id,
            remote_number=number,
            outbound=OutboundRequest(
                # The record keeps E.164; only what the carrier receives takes its format.
                endpoint=f"PJSIP/{trunk_number(number, self._number_format, self._dial_prefix)}@{trunk or self._trunk}",
                number=number,
                caller_id=self._caller_id if caller_id is None else caller_id,
                variables=dict(variables or {}),
                answering_machine=answering_machine,
                **ids,
            ),
        )
        self._router.start(call)
        return call
