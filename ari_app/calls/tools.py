"""Runs the agent's tool calls of one call against the record (`campaigns.actions`).

The tool's effect is written at once (a promise is not lost if the caller hangs up a second
later); what it means for the job is decided when the call ends (`ContactService.settle`).
Refusals and bad arguments are recorded, never raised into the conversation.

Every tool is run the same way: its command (`agent.tools`) names the `CallActions` method that
carries it out and its arguments, and says what the agent reads back. A new tool needs nothing here.
"""

from __future__ import annotations

import logging
from datetime import datetime

from agent.llm import ToolCall
from agent.tools import ToolArgumentError, command_from
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
            command = command_from(call)
            done = await getattr(actions, command.action)(ctx, **command.arguments(now))
            return command.reply(done)
        except (ActionRefused, ToolArgumentError) as exc:
            log.info("tool %s refused: %s", call.name, exc)
            await actions.note_refusal(ctx, call.name, str(exc))
            return f"refused: {exc}"
