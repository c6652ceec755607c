"""One object per call: it owns everything about that call, from the first ARI event to the record.

A `Call` is driven by two things: typed ARI events, delivered in order by the router to `on_event`
(synchronous, never blocks the event stream; one handler per kind, in channel_events.py), and its
own task, `run()`, which does the talking to Asterisk and the database. The task waits on asyncio
events that the handlers set, so there is no per-call state anywhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ari_app.ari import AriClient, AriError
from ari_app.calls.channel_events import ChannelEventHandlers
from ari_app.calls.dialplan import continue_and_return
from ari_app.calls.human_leg import collect_human_leg, desk_caller_name
from ari_app.calls.journal import CallJournal
from ari_app.calls.legs import InboundLeg, OutboundRequest
from ari_app.calls.machine import AMD_WAIT_S, MachineCheck, first_of, leave_message
from ari_app.calls.media import CallMedia, MediaConfig
from ari_app.calls.outcomes import CAUSE_NORMAL_CLEARING, outcome_for_unanswered
from ari_app.calls.party import CallParty
from ari_app.calls.results import CallResults, ResultsConfig
from campaigns.actions import CallActions, CallContext
from campaigns.calls import CallLog, CallOutcome, Direction
from campaigns.debtors import DebtorDirectory
from countries.privacy import mask_phone
from media.conversation import Conversation
from media.reply import ReplyPlayer
from media.rtp_session import RtpSession
from media.tts import TtsEngine

if TYPE_CHECKING:
    from ari_app.calls.dialogue import ConversationFactory

log = logging.getLogger(__name__)
T = TypeVar("T")
TRANSFER_CONTEXT = "human-agents"  # dialplan/extensions.conf


class ChannelGone(Exception):
    """The caller's channel left Stasis (hung up, or Asterisk went away)."""


@dataclass(frozen=True, slots=True)
class CallServices:
    """What every call needs from the process; built once by the application."""

    ari: AriClient
    call_log: CallLog
    tts: TtsEngine
    media: MediaConfig
    greeting: str
    silence_timeout_s: float
    originate_timeout_s: int
    conversations: ConversationFactory | None = None  # None: greeting only (a media check)
    actions: CallActions | None = None  # the agent's tools act on the record through these
    debtors: DebtorDirectory | None = None  # who the agent is talking to (campaign calls)
    results: ResultsConfig = field(default_factory=ResultsConfig)  # recordings and rates (transcript, recording, cost)
    tail_s: float = 0.4  # let the last RTP packets reach the phone before hanging up


class Call(ChannelEventHandlers):
    def __init__(
        self,
        services: CallServices,
        *,
        direction: Direction,
        channel_id: str,
        remote_number: str = "",
        local_number: str = "",
        outbound: OutboundRequest | None = None,
        inbound: InboundLeg | None = None,
        attempt_id: uuid.UUID | None = None,
    ) -> None:
        self._svc = services
        self.direction = direction
        self.channel_id = channel_id
        self.attempt_id = attempt_id or uuid.uuid4()
        self.remote_number = remote_number
        self.local_number = local_number
        self.outbound = outbound
        self.inbound = inbound or (InboundLeg(local_number) if direction is Direction.INBOUND else None)
        self.media = CallMedia(services.ari, channel_id, services.media)
        self.in_stasis = asyncio.Event()
        self.gone = asyncio.Event()
        self.finished = asyncio.Event()
        self.outcome: CallOutcome | None = None
        self.hangup_cause: int | None = None
        self.hangup_cause_txt: str | None = None
        self.dial_status: str | None = None
        self.metrics: dict[str, Any] = {}
        self._loop = asyncio.get_running_loop()
        self._created_at = self._loop.time()
        self._stasis_at: float | None = None
        self._journal = CallJournal(services.call_log, self.attempt_id, channel_id)
        self.results = CallResults(services.call_log, self.attempt_id, self._journal, services.results)
        self._tearing_down = False
        self.conversation: Conversation | None = None
        self.machine_check = MachineCheck(services.ari, channel_id, self.attempt_id, self.record) \
            if outbound is not None and outbound.answering_machine != "off" else None
        out = outbound
        context = CallContext(self.attempt_id, out.debtor_id, out.campaign_id, out.job_id, out.phone_id) if out \
            else CallContext(self.attempt_id)
        self.party = CallParty(context, self.record, actions=services.actions, debtors=services.debtors,
                               conversations=services.conversations, caller=self.remote_number)

    def __repr__(self) -> str:
        return f"<Call {self.direction.value} {self.channel_id} {mask_phone(self.remote_number)}>"

    def record(self, kind: str, data: dict[str, Any] | None = None) -> None:
        """Queue an event for the call's journal; written to the database in order by one task."""
        self._journal.record(kind, data)

    # --- the call's own task ---------------------------------------------------------------
    async def run(self) -> None:
        try:
            await self._open_record()
            # Events queued before the attempt row existed are written now, in order.
            self._journal.start()
            answered = await self._connect()
            if answered:  # the origin of the transcript's offsets and of the recording
                self.results.answered(self._stasis_at if self.outbound is not None else None)
            verdict = self.machine_check.verdict if self.machine_check else None
            if answered and verdict is not None and verdict.machine:
                # An attempt, not a contact: the policy retries it like an unanswered call.
                self.outcome = CallOutcome.VOICEMAIL
                await self._voicemail()
            elif answered:
                await self._svc.call_log.mark_answered(self.attempt_id)
                self.outcome = CallOutcome.ANSWERED
                await self._converse()
        except ChannelGone:
            log.info("%s: caller hung up", self)
        except asyncio.CancelledError:
            self.record("cancelled", {})
            raise
        except Exception as exc:
            log.exception("%s failed", self)
            self.record("error", {"error": f"{type(exc).__name__}: {exc}"})
            self.outcome = self.outcome or CallOutcome.FAILED
        finally:
            await asyncio.shield(self._finish())

    async def _open_record(self) -> None:
        out = self.outbound
        await self._svc.call_log.open_attempt(
            attempt_id=self.attempt_id,
            direction=self.direction,
            channel_id=self.channel_id,
            remote_number=self.remote_number,
            local_number=self.local_number,
            endpoint=out.endpoint if out else "",
            job_id=out.job_id if out else None,
            campaign_id=out.campaign_id if out else None,
            debtor_id=out.debtor_id if out else None,
            phone_id=out.phone_id if out else None,
        )

    async def _connect(self) -> bool:
        """Inbound: answer. Outbound: originate and wait for the far end. True when answered."""
        ari = self._svc.ari
        if self.direction is Direction.INBOUND:
            await self._until_gone(ari.answer(self.channel_id))
            self.record("answered", {})
            return True
        assert self.outbound is not None
        out = self.outbound
        try:
            await ari.originate(
                out.endpoint,
                channel_id=self.channel_id,
                app_args=f"outbound,{self.attempt_id}",
                caller_id=out.caller_id,
                timeout_s=self._svc.originate_timeout_s,
                variables=out.variables,
            )
        except AriError as exc:
            self.record("originate_failed", {"status": exc.status, "error": str(exc)})
            self.outcome = CallOutcome.FAILED
            return False
        self.record("originated", {"endpoint": out.endpoint.split("/")[0]})
        check = self.machine_check
        await first_of(self.in_stasis, self.gone, *([check.answered] if check else []),
                       timeout_s=self._svc.originate_timeout_s + 10)
        if check is not None and check.answered.is_set() and not self.gone.is_set():
            if await check.start():
                await first_of(self.in_stasis, self.gone, timeout_s=AMD_WAIT_S)
            else:
                self.in_stasis.set()  # still in Stasis: talk without detection
        if self.in_stasis.is_set() and not self.gone.is_set():
            self.metrics["originate_to_stasis_ms"] = round((self._stasis_at - self._created_at) * 1000, 1)
            return True
        if check is not None and check.answered.is_set() and self.gone.is_set():
            # Answered, and gone while AMD listened: nobody was reached. (Asterisk gives no cause for a
            # hang-up inside AMD(): cause 0, which alone would read as a technical failure.)
            self.record("hung_up_during_detection", {})
            self.outcome = CallOutcome.NO_ANSWER
            return False
        if not self.gone.is_set():  # Asterisk never told us anything: do not leave a ringing channel behind
            self.record("originate_timeout", {})
            await self._hangup("normal")
        self.outcome = outcome_for_unanswered(self.hangup_cause)
        return False

    async def _converse(self) -> None:
        """Bridge the caller to our RTP socket, then talk: a conversation, or the greeting only."""
        session = await self._until_gone(self.media.open(self._on_audio))
        self.results.record(session)
        self.metrics["media_setup_ms"] = round(self.media.setup_ms or 0.0, 1)
        self.record("media_ready", self.media.diagnostics())
        factory = self._svc.conversations
        if factory is not None:
            leg = self.inbound
            debtor = await self.party.card(leg, self.remote_number)
            self.conversation = await self._until_gone(factory.new(
                session.pacer, on_turn=self.results.store_turn, on_tool_call=self.party.on_tool, debtor=debtor,
                identify=self.party.identify if leg and leg.identify and self._svc.debtors is not None else None,
                after_failed_transfer=bool(leg and leg.returning_from), called_in=leg is not None,
                on_line=self.results.line,
                usage=self.results.usage))
            talk = asyncio.ensure_future(self.conversation.run())
        else:
            talk = asyncio.ensure_future(self._greet(session))
        try:
            await self._until_gone(asyncio.wait_for(session.first_packet.wait(), self._svc.silence_timeout_s))
        except TimeoutError:
            talk.cancel()
            diagnostics = self.media.diagnostics()
            log.error("%s: silent call, no RTP from Asterisk within %.1f s: %s",
                      self, self._svc.silence_timeout_s, diagnostics)
            self.record("media_silent", {"timeout_s": self._svc.silence_timeout_s, **diagnostics})
            self.outcome = CallOutcome.SILENT
            return
        except ChannelGone:
            talk.cancel()
            raise
        self.metrics["first_rtp_in_ms"] = self._since_stasis_ms(session.stats.first_packet_at)
        await self._until_gone(talk)
        await self._until_gone(asyncio.sleep(self._svc.tail_s))

    async def _greet(self, session: RtpSession) -> None:
        voice = ReplyPlayer(session.pacer, self._svc.tts, usage=self.results.usage, on_line=self.results.line)
        greeting = await voice.say(self._svc.greeting)
        result = greeting.result
        assert result is not None  # played to the end: say() returns once the pacer is done with it
        self.metrics["first_rtp_out_ms"] = self._since_stasis_ms(result.started_at)
        self.metrics["greeting"] = {
            "tts_duration_s": round(greeting.duration_s, 3),
            "frames_played": result.frames_played,
            "frames_total": result.frames_total,
            "interrupted": result.interrupted,
        }
        self.record("greeting_played", self.metrics["greeting"])

    def _on_audio(self, pcm: Any) -> None:
        self.results.heard(pcm)
        if self.conversation is not None:
            self.conversation.feed(pcm)

    async def _voicemail(self) -> None:
        """A machine answered: hang up, or leave the flow's short message after its beep."""
        assert self.outbound is not None and self.machine_check is not None and self.machine_check.verdict
        verdict = self.machine_check.verdict
        self.record("answering_machine", {"status": verdict.status, "cause": verdict.cause,
                                          "action": self.outbound.answering_machine})
        factory = self._svc.conversations
        if self.outbound.answering_machine != "message" or factory is None:
            return
        card = await self.party.card(None)
        if card is None:
            return
        left = await self._until_gone(leave_message(self.media, self._svc.tts, factory.voicemail_message(card),
                                                       self.results))
        self.record("voicemail_left", left)
        await self._until_gone(asyncio.sleep(self._svc.tail_s))

    # --- helpers -----------------------------------------------------------------------------
    async def _until_gone(self, work: Awaitable[T]) -> T:
        """Await `work`, but give up as soon as the caller's channel is gone."""
        task = asyncio.ensure_future(work)
        gone = asyncio.ensure_future(self.gone.wait())
        try:
            await asyncio.wait((task, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        raise ChannelGone(self.channel_id)

    def _since_stasis_ms(self, at: float | None) -> float | None:
        if at is None or self._stasis_at is None:
            return None
        return round((at - self._stasis_at) * 1000, 1)

    async def _transfer(self) -> None:
        """Hand the caller to the human agents' dialplan context instead of hanging up."""
        try:
            # The person's desk phone shows who is calling (app_queue passes the caller id on).
            try:
                card = await self.party.card(None) if self.party.debtor_id is not None else None
            except Exception:  # the desk phone shows less; the caller still reaches a person
                log.exception("%s: no debtor card for the desk phone", self)
                card = None
            await self._svc.ari.set_variable(self.channel_id, "CALLERID(name)", desk_caller_name(card))
            # If no person answers, the dialplan brings the caller back to us with this attempt's id.
            await continue_and_return(self._svc.ari, self.channel_id, TRANSFER_CONTEXT, self.attempt_id)
        except AriError as exc:
            log.error("%s: transfer failed, hanging up instead: %s", self, exc)
            self.record("transfer_failed", {"error": str(exc)})
            return
        self.record("transferred", {"context": TRANSFER_CONTEXT, "reason": self.party.transfer_reason})
        collect_human_leg(self._svc.ari, self.channel_id, self.attempt_id, self._svc.call_log,
                          self._svc.results.recordings)
        with contextlib.suppress(TimeoutError):  # StasisEnd: the channel is the dialplan's now
            await asyncio.wait_for(self.gone.wait(), 2.0)

    async def _hangup(self, reason: str) -> None:
        try:
            await self._svc.ari.hangup(self.channel_id, reason)
        except AriError as exc:
            log.warning("%s: hangup failed: %s", self, exc)

    async def _finish(self) -> None:
        """Tear down media, hang up if still up, and close the record. Runs exactly once."""
        self._tearing_down = True
        if self.in_stasis.is_set() or self.direction is Direction.INBOUND:
            await self.media.close()
            if self.party.transfer_reason is not None and not self.gone.is_set():
                await self._transfer()
            if not self.gone.is_set():
                await self._hangup("normal")
                # Wait for Asterisk to confirm (StasisEnd), so the record carries its cause.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.gone.wait(), 2.0)
                self.hangup_cause = self.hangup_cause or CAUSE_NORMAL_CLEARING
                self.hangup_cause_txt = self.hangup_cause_txt or "Normal Clearing"
        if self.conversation is not None:
            self.metrics["conversation"] = self.conversation.summary()
            self.record("conversation_ended", self.metrics["conversation"])
        if self.media.session is not None:
            self.metrics["rtp_in"] = self.media.session.stats.as_dict()
            self.metrics["rtp_out"] = self.media.session.pacer.summary()
        await self.results.finish()  # before the close: the call_ended webhook carries the cost
        await self._journal.close()
        outcome = self.outcome or outcome_for_unanswered(self.hangup_cause)
        try:
            await self._svc.call_log.close_attempt(
                self.attempt_id,
                outcome=outcome,
                hangup_cause=self.hangup_cause,
                hangup_cause_txt=self.hangup_cause_txt,
                dial_status=self.dial_status,
                metrics=self.metrics,
            )
        except Exception:
            log.exception("%s: could not store the call's outcome", self)
        self.outcome = outcome
        log.info("%s ended: %s (cause %s)", self, outcome.value, self.hangup_cause)
        self.finished.set()
