"""Who a call is with, and the agent's tools acting on their record.

A campaign call knows its debtor from the job. An inbound call knows them by the calling number
when exactly one debtor has it, or once the caller keys or says their RUT (`identify`); until
then it is nobody's, and the agent says nothing about any debt.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent.identify_agent import DebtorAgent, InvalidRut
from agent.llm import ToolCall
from agent.vocabulary import ToolName
from ari_app.calls.legs import InboundLeg
from ari_app.calls.tools import CallToolRunner
from campaigns.actions import CallActions, CallContext
from campaigns.debtors import DebtorCard, DebtorDirectory
from countries.cl import normalise_rut
from countries.identity import InvalidIdentity
from media.responder import ActionResult

if TYPE_CHECKING:
    from ari_app.calls.dialogue import ConversationFactory

log = logging.getLogger(__name__)

Record = Callable[[str, dict[str, Any]], None]  # the call's journal


class CallParty:
    def __init__(self, context: CallContext, record: Record, *, actions: CallActions | None,
                 debtors: DebtorDirectory | None, conversations: ConversationFactory | None) -> None:
        self.context = context
        self._record = record
        self._actions = actions
        self._debtors = debtors
        self._conversations = conversations
        self.transfer_reason: str | None = None  # the agent handed the caller to a person

    @property
    def debtor_id(self) -> int | None:
        return self.context.debtor_id

    async def card(self, leg: InboundLeg | None, calling_number: str = "") -> DebtorCard | None:
        """The debtor the call is for: a campaign's; for a call in, the one a transferred caller was with
        before, or the only debtor with the calling number."""
        if self._debtors is None:
            return None
        if self.context.debtor_id is not None:
            return await self._debtors.card(self.context.debtor_id, self.context.campaign_id)
        if leg is None:
            return None  # an outbound call to a number, not a debtor (a test call)
        if leg.returning_from is not None:
            card = await self._debtors.card_for_attempt(leg.returning_from)
            how = "returning_caller"
        else:
            card = await self._debtors.find_by_caller(calling_number)
            how = "caller_id"
        if card is not None:
            await self._identified(card, how)
        return card

    async def identify(self, rut: str, how: str) -> DebtorAgent | None:
        """An unknown caller's RUT (keyed or said): their own agent, None if no debtor has it.
        Raises `InvalidRut` for a wrong check digit, so the caller is asked to key it again."""
        assert self._debtors is not None and self._conversations is not None
        try:
            national_id = normalise_rut(rut)
        except InvalidIdentity as exc:
            self._record("identify_failed", {"by": how, "reason": exc.reason})
            raise InvalidRut(exc.reason) from exc
        card = await self._debtors.find_by_national_id(national_id)
        if card is None:
            self._record("identify_failed", {"by": how, "reason": "no debtor has this RUT"})
            return None
        await self._identified(card, how)
        return self._conversations.debtor_agent(card)

    async def _identified(self, card: DebtorCard, how: str) -> None:
        assert self._debtors is not None
        self.context = dataclasses.replace(self.context, debtor_id=card.debtor_id, campaign_id=card.campaign_id)
        self._record("identified", {"by": how, "debtor_id": card.debtor_id})
        await self._debtors.link_attempt(self.context.attempt_id, card)

    async def on_tool(self, call: ToolCall) -> ActionResult:
        """The call's `media.reply.ToolSink`: run one of the agent's tools; its result goes back to the agent."""
        self._record("tool_requested", {"name": call.name, "arguments": call.arguments})
        if self._actions is None:  # a call that keeps no record (no database)
            return ActionResult.UNRECORDED
        result = await CallToolRunner(self._actions, self.context).run(call)
        self._record("tool_result", {"name": call.name, "result": result.text})
        if call.name == ToolName.TRANSFER_TO_AGENT and result.ok:
            self.transfer_reason = str(call.arguments.get("reason", ""))
        return result
