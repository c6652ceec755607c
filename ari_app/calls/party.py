"""Who a call is with, and the agent's tools acting on their record.

A campaign call knows its debtor from the job. An inbound call knows them by the calling number
when exactly one debtor has it, or once the caller gives their RUT and the last four digits of a
phone on file for them (`identify` then `confirm`, for the rule engine; `lookup_customer`, the same
check as a model's tool); until then it is nobody's, and the agent says nothing about any debt. A
calling number that failed `IDENTIFY_FAILURES_PER_DAY` times today is not looked up again.

lookup_customer is carried out here, not in `campaigns.actions` with the other tools: it changes
who the call is with (this object's context, which every later tool acts on) and links the attempt
to the debtor, and its answer (the debtor's facts, for the model) is built from the call's flow.
Only the call knows those; the record keeps no result for it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from agent.identify_agent import DebtorAgent, IdentificationLocked, InvalidRut, PendingIdentity
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


# Failed identifications (a wrong RUT, wrong phone digits) a calling number gets in a day, all its
# calls together: a person's slips fit; trying a list of RUTs one by one does not.
IDENTIFY_FAILURES_PER_DAY = 6


class CallParty:
    def __init__(self, context: CallContext, record: Record, *, actions: CallActions | None,
                 debtors: DebtorDirectory | None, conversations: ConversationFactory | None,
                 caller: str = "", identify_failures_per_day: int = IDENTIFY_FAILURES_PER_DAY) -> None:
        self.context = context
        self._record = record
        self._actions = actions
        self._debtors = debtors
        self._conversations = conversations
        self._caller = caller  # the calling number, as Asterisk gave it ("" or "anonymous" when withheld)
        self._failures_per_day = identify_failures_per_day
        self._failures = 0  # this call's failed identifications
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

    async def identify(self, rut: str, how: str) -> PendingIdentity:
        """An unknown caller's RUT (keyed or said), to be confirmed by a phone's last digits.
        Raises `InvalidRut` for a wrong check digit (keyed again), `IdentificationLocked` when this
        number failed too often today."""
        return _ClaimedIdentity(self, await self._claimed(rut, how), how)

    async def confirm(self, card: DebtorCard | None, how: str, digits: str) -> DebtorAgent | None:
        """The second factor: the debtor's agent when `digits` end a phone on file for them."""
        assert self._conversations is not None
        if not await self._proven(card, how, digits):
            return None
        assert card is not None
        return self._conversations.debtor_agent(card)

    async def _claimed(self, rut: str, how: str) -> DebtorCard | None:
        """Who has the RUT a caller gave (None: nobody), once this number may still try today.
        Raises `IdentificationLocked`, or `InvalidRut` for a wrong check digit."""
        assert self._debtors is not None
        await self._refuse_when_locked(how)
        try:
            national_id = normalise_rut(rut)
        except InvalidIdentity as exc:
            self._failed(how, exc.reason)
            raise InvalidRut(exc.reason) from exc
        return await self._debtors.find_by_national_id(national_id)

    async def _proven(self, card: DebtorCard | None, how: str, digits: str) -> bool:
        """The second factor checked; the call becomes the debtor's when it holds. Which of the two (the RUT
        or the digits) did not match is recorded, never told: that would say who is in collections."""
        assert self._debtors is not None
        if card is None or not await self._debtors.phone_ends_with(card.debtor_id, digits):
            self._failed(how, "no debtor has this RUT" if card is None else "the phone digits do not match")
            return False
        await self._identified(card, how)
        return True

    def _failed(self, how: str, reason: str) -> None:
        self._failures += 1
        self._record("identify_failed", {"by": how, "reason": reason})

    async def _refuse_when_locked(self, how: str) -> None:
        assert self._debtors is not None
        earlier = await self._debtors.identify_failures(self._caller, within=timedelta(days=1),
                                                        other_than=self.context.attempt_id)
        if earlier + self._failures >= self._failures_per_day:
            self._record("identify_locked", {"by": how, "failures_today": earlier + self._failures})
            log.warning("attempt %s: identification refused, %d failures from this number today",
                        self.context.attempt_id, earlier + self._failures)
            raise IdentificationLocked

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
            card = await self._claimed(command.rut, "lookup_customer")
        except IdentificationLocked:
            return ActionResult.refused(Refusal.IDENTIFY_LOCKED, "too many failed identifications from this "
                                        "number today: do not ask again, offer a person (transfer_to_agent)")
        except InvalidRut:
            return ActionResult.refused(Refusal.INVALID_ID, "the check digit does not match: ask for it again")
        if not await self._proven(card, "lookup_customer", command.phone_last4):
            return ActionResult.refused(Refusal.NOT_FOUND, "the RUT and the phone digits do not match a debtor "
                                        "together: ask for both again")
        assert card is not None
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


@dataclasses.dataclass(frozen=True, slots=True)
class _ClaimedIdentity:
    """A RUT a caller gave (`card` None when no debtor has it), confirmed by `CallParty.confirm`."""

    party: CallParty
    card: DebtorCard | None
    how: str

    async def confirm(self, digits: str) -> DebtorAgent | None:
        return await self.party.confirm(self.card, self.how, digits)
