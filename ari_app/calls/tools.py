"""Runs the agent's tool calls of one call against the record (`campaigns.actions`).

The tool's effect is written at once (a promise is not lost if the caller hangs up a second
later); what it means for the job is decided when the call ends (`ContactService.settle`).
Refusals and bad arguments are recorded, never raised into the conversation.
"""

from __future__ import annotations

import logging
from datetime import datetime

from agent.llm import ToolCall
from agent.tools import (
    EndCall,
    RegisterPromise,
    ReportWrongNumber,
    ScheduleCallback,
    SendPaymentLink,
    StopCalling,
    ToolArgumentError,
    TransferToAgent,
    command_from,
)
from campaigns.actions import ActionRefused, CallActions, CallContext

log = logging.getLogger(__name__)


class CallToolRunner:
    def __init__(self, actions: CallActions, context: CallContext) -> None:
        self._actions = actions
        self.context = context

    async def run(self, call: ToolCall, now: datetime | None = None) -> str:
        """Execute one tool call; a short result the agent may read back ("ok: ...", "refused: ...")."""
        now = now or datetime.now().astimezone()
        ctx, actions = self.context, self._actions
        try:
            match command_from(call):
                case RegisterPromise(promised_date, amount, installments):
                    promise_id = await actions.register_promise(ctx, promised_date=promised_date, amount=amount,
                                                                today=now.date(), installments=installments)
                    return f"ok: promise {promise_id} for {promised_date.isoformat()}"
                case ScheduleCallback(when, reason):
                    booked = await actions.schedule_callback(ctx, when, reason)
                    return f"ok: callback booked for {booked.isoformat()}"
                case ReportWrongNumber():
                    await actions.wrong_number(ctx)
                case StopCalling():
                    await actions.stop_calling(ctx)
                case SendPaymentLink():
                    # Delivered through the webhooks outbox (issue #6); the request is recorded now.
                    await actions.note(ctx, "payment_link", "payment_link_requested")
                case TransferToAgent(reason):
                    await actions.note(ctx, "transfer", "transfer_requested", {"reason": reason})
                case EndCall(outcome):
                    await actions.note(ctx, outcome, "call_result", {"outcome": outcome})
            return "ok"
        except (ActionRefused, ToolArgumentError) as exc:
            log.info("tool %s refused: %s", call.name, exc)
            await actions.note_refusal(ctx, call.name, str(exc))
            return f"refused: {exc}"
