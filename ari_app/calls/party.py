"""Who a call is with, and the agent's tools acting on their record.

A campaign call knows its debtor from the job. An inbound call knows them by the calling number
when exactly one debtor has it, or once the caller keys or says their RUT (`identify`, for the
rule engine; `lookup_customer`, the same check as a model's tool); until then it is nobody's, and
the agent says nothing about any debt.

lookup_customer is carried out here, not in `campaigns.actions` with the other tools: it changes
who the call is with (this object's context, which every later tool acts on) and links the attempt
to the debtor, and its answer (the debtor's facts, for the model) is built from the call's flow.
Only the call knows those; the record keeps no result for it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent.identify_agent import DebtorAgent, InvalidRut
from agent.llm import ToolCall
from agent.tools import COMMANDS, LookupCustomer, ToolArgumentError, command_from
from agent.vocabulary import Refusal, ToolName
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
            return await self._debtors.card(self.context.debtor_id, self.context.campaign_id, self.context.job_id)
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

    async def lookup_customer(self, command: LookupCustomer) -> ActionResult:
        """A model's lookup of an unknown caller by RUT: the call becomes theirs (as keying it does) and
        the model is told their facts; before that, nothing about any debt."""
        if self._debtors is None or self._conversations is None:
            return ActionResult.refused(Refusal.NO_DIRECTORY, "this call keeps no debtors")
        if self.context.debtor_id is not None:
            return ActionResult.done("ok: the caller is already identified")
        try:
            national_id = normalise_rut(command.rut)
        except InvalidIdentity as exc:
            self._record("identify_failed", {"by": "lookup_customer", "reason": exc.reason})
            return ActionResult.refused(Refusal.INVALID_ID, "the check digit does not match: ask for it again")
        card = await self._debtors.find_by_national_id(national_id)
        if card is None:
            self._record("identify_failed", {"by": "lookup_customer", "reason": "no debtor has this RUT"})
            return ActionResult.refused(Refusal.NOT_FOUND, "no debtor has this RUT: ask for it again")
        await self._identified(card, "lookup_customer")
        return ActionResult.done(f"ok: identified. {self._conversations.debtor_brief(card)}")

    async def on_tool(self, call: ToolCall) -> ActionResult:
        """The call's `media.reply.ToolSink`: run one of the agent's tools; its result goes back to the agent."""
        self._record("tool_requested", {"name": call.name, "arguments": call.arguments})
        command = COMMANDS.get(call.name)  # type: ignore[call-overload]
        if command is not None and command.on_party:  # lookup_customer: the call's own, not the record's
            try:
                result = await getattr(self, command.action)(command_from(call))
            except ToolArgumentError as exc:
                result = exc.result()
            self._record("tool_result", {"name": call.name, "result": result.text if not result.ok else "ok"})
            return result
        if self._actions is None:  # a call that keeps no record (no database)
            return ActionResult.UNRECORDED
        result = await CallToolRunner(self._actions, self.context).run(call)
        self._record("tool_result", {"name": call.name, "result": result.text})
        if call.name == ToolName.TRANSFER_TO_AGENT and result.ok:
            self.transfer_reason = str(call.arguments.get("reason", ""))
        return result
