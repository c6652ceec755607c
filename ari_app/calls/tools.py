"""Runs the agent's tool calls of one call against the record (`campaigns.actions`).

The tool's effect is written at once (a promise is not lost if the caller hangs up a second
later); what it means for the job is decided when the call ends (`ContactService.settle`).
Refusals and bad arguments are recorded, never raised into the conversation: each run returns a
typed `media.responder.ActionResult` (done, or refused with the record's `Refusal` code and detail),
which the reply hands back to the agent that asked.

Every tool is run the same way: its command (`agent.tools`) names the `CallActions` method that
carries it out and its arguments, and says what the agent reads back. A new tool needs nothing here.
"""

from __future__ import annotations

import logging
from datetime import datetime

from agent.llm import ToolCall
from agent.tools import ToolArgumentError, command_from
from campaigns.actions import ActionRefused, CallActions, CallContext
from media.responder import ActionResult

log = logging.getLogger(__name__)


class CallToolRunner:
    def __init__(self, actions: CallActions, context: CallContext) -> None:
        self._actions = actions
        self.context = context

    async def run(self, call: ToolCall, now: datetime | None = None) -> ActionResult:
        """Execute one tool call: done (its `text` what the agent may read back, "ok: ..."), or refused."""
        now = now or datetime.now().astimezone()
        ctx, actions = self.context, self._actions
        try:
            command = command_from(call)
            done = await getattr(actions, command.action)(ctx, **command.arguments(now))
            return ActionResult.done(command.reply(done))
        except ActionRefused as exc:
            result, reason = ActionResult.refused(exc.code, exc.detail, exc.limit), str(exc)
        except ToolArgumentError as exc:
            result, reason = exc.result(), str(exc)
        log.info("tool %s refused: %s", call.name, reason)
        await actions.note_refusal(ctx, call.name, reason)
        return result
