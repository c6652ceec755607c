"""What the agent's tools do to the record: a promise, a callback, a wrong number, "stop calling me".

One method per tool: each tool's command in `agent.tools` names its method here (`action`), and the
call's runner awaits it with the call's context and the command's arguments. Each action is bound
to one call (`CallContext`), writes its own call event, and sets the call's result (an
`agent.vocabulary.CallResult`), which `ContactService.settle` reads when the call ends to decide
what follows. An action the rules do not allow raises `ActionRefused` with a reason the agent can
turn into words (a promise after the debt's maximum date, a callback with no campaign to carry
it). An action whose event is a webhook event (promise_registered, callback_scheduled,
transfer_requested, payment_link_requested) emits it in the action's own transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from agent.record_bounds import promise_refusal
from agent.vocabulary import CallResult, Refusal
from campaigns.campaign import CampaignStore
from campaigns.contacts import exclude_debtor
from campaigns.payment_links import queue_link_message
from campaigns.policy import ContactPolicy
from campaigns.webhooks.events import EVENTS, call_summary, emit


class ActionRefused(ValueError):
    """The rules said no; `code` names why (`agent.vocabulary.Refusal`), `detail` the particulars."""

    def __init__(self, code: Refusal, detail: str, limit: object = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.limit = "" if limit is None else str(limit)  # the bound crossed (a max date, the debt)


@dataclass(frozen=True, slots=True)
class CallContext:
    """The call an action belongs to (an inbound call may know no debtor yet)."""

    attempt_id: uuid.UUID
    debtor_id: int | None = None
    campaign_id: int | None = None
    job_id: int | None = None
    phone_id: int | None = None


class CallActions:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool
        self._campaigns = CampaignStore(pool)

    async def register_promise(self, ctx: CallContext, *, promised_date: date, amount: Decimal | int,
                               today: date, installments: int | None = None,
                               installment_amount: Decimal | int | None = None,
                               discount_percent: Decimal | int | None = None) -> int:
        """Store a payment promise or plan; its id. The (first) date must be between today and the debt's
        maximum date; `amount` is the total promised (a plan's: what its instalments cover together)."""
        debtor_id = self._debtor(ctx)
        amount = Decimal(amount)
        each = Decimal(installment_amount) if installment_amount is not None else None
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute("SELECT max_date, amount_owed FROM debtors WHERE id = %s", (debtor_id,))
            max_date, owed = await cur.fetchone()
            refusal = promise_refusal(promised_date, amount, today=today, max_date=max_date, amount_owed=owed,
                                      installments=installments, installment_amount=each)
            if refusal is not None:
                raise ActionRefused(Refusal(refusal.code), refusal.detail, refusal.limit or None)
            cur = await conn.execute(
                """INSERT INTO promises (attempt_id, debtor_id, campaign_id, job_id, promised_date, amount,
                                         installments, installment_amount, discount_percent)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
                (ctx.attempt_id, debtor_id, ctx.campaign_id, ctx.job_id, promised_date, amount, installments,
                 each, discount_percent))
            (promise_id,) = await cur.fetchone()
            event = {"promise_id": promise_id, "date": promised_date.isoformat(), "amount": str(amount),
                     "installments": installments}
            if each is not None:  # a plan's instalment; the keys of a plain promise's event stay as they were
                event["installment_amount"] = str(each)
            if discount_percent is not None:
                event["discount_percent"] = str(discount_percent)
            await self._result(conn, ctx, CallResult.PROMISE, "promise_registered", event)
        return promise_id

    async def schedule_callback(self, ctx: CallContext, when: datetime, reason: str = "") -> datetime:
        """Book the callback the debtor asked for, moved into the legal window if needed; the time booked.

        On a campaign call the call's own job carries it (settle keeps it queued for that time). On
        an inbound call it goes to the debtor's latest active campaign: its live job is moved to the
        time, or a new job is queued for it.
        """
        debtor_id = self._debtor(ctx)
        campaign_id = ctx.campaign_id or await self._latest_campaign(debtor_id)
        if campaign_id is None:
            raise ActionRefused(Refusal.NO_CAMPAIGN, "the debtor is in no active campaign to carry a callback")
        campaign = await self._campaigns.get(campaign_id)
        assert campaign is not None
        policy = ContactPolicy(campaign.policy_config)
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute("SELECT timezone FROM debtors WHERE id = %s", (debtor_id,))
            (tz_name,) = await cur.fetchone()
            booked = policy.next_open(when.astimezone(ZoneInfo(tz_name)))
            if ctx.job_id is not None:
                # The job is this call's, claimed by its dialer; settle keeps the callback when the call ends.
                await conn.execute("UPDATE call_jobs SET callback_at = %s, updated_at = now() WHERE id = %s",
                                   (booked, ctx.job_id))
            else:
                moved = await conn.execute(
                    """UPDATE call_jobs SET callback_at = %(at)s, next_at = %(at)s, reason = 'callback_requested',
                              updated_at = now()
                        WHERE campaign_id = %(c)s AND debtor_id = %(d)s AND state = 'queued'""",
                    {"at": booked, "c": campaign_id, "d": debtor_id})
                if moved.rowcount == 0:  # none queued (a job being dialed right now keeps its own course)
                    await conn.execute(
                        """INSERT INTO call_jobs (campaign_id, debtor_id, trunk, next_at, callback_at, reason)
                           VALUES (%s, %s, %s, %s, %s, 'callback_requested')
                           ON CONFLICT DO NOTHING""", (campaign_id, debtor_id, campaign.trunk, booked, booked))
            await self._result(conn, ctx, CallResult.CALLBACK, "callback_scheduled",
                               {"asked_for": when.isoformat(), "booked": booked.isoformat(), "reason": reason,
                                "moved_by_law": booked != when, "campaign_id": campaign_id})
        return booked

    async def _latest_campaign(self, debtor_id: int) -> int | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                """SELECT j.campaign_id FROM call_jobs j JOIN campaigns c ON c.id = j.campaign_id
                    WHERE j.debtor_id = %s AND c.status = 'active' ORDER BY j.id DESC LIMIT 1""", (debtor_id,))
            row = await cur.fetchone()
        return row[0] if row else None

    async def wrong_number(self, ctx: CallContext) -> None:
        """Someone else answered: this phone leaves the rotation, the debtor was not reached."""
        async with self._pool.connection() as conn, conn.transaction():
            if ctx.phone_id is not None:
                await conn.execute("UPDATE phones SET status = 'wrong_number' WHERE id = %s", (ctx.phone_id,))
            await self._result(conn, ctx, CallResult.WRONG_NUMBER, "wrong_number", {"phone_id": ctx.phone_id})

    async def stop_calling(self, ctx: CallContext) -> None:
        """"No me vuelvan a llamar": honoured at once, for every campaign."""
        debtor_id = self._debtor(ctx)
        # One transaction: a result stored without the exclusion would call the debtor again.
        async with self._pool.connection() as conn, conn.transaction():
            await self._result(conn, ctx, CallResult.STOP_CALLING, "stop_calling_requested", {})
            await exclude_debtor(conn, debtor_id, "asked_not_to_be_called")

    async def send_payment_link(self, ctx: CallContext) -> None:
        """The debtor asked for the payment link: its message goes to the company's messaging gateway
        (`campaigns.payment_links`), in the same transaction as the call's result; refused when the
        company has nothing that sends links (the agent then says how else to pay)."""
        debtor_id = self._debtor(ctx)
        async with self._pool.connection() as conn, conn.transaction():
            message = await queue_link_message(conn, attempt_id=ctx.attempt_id, debtor_id=debtor_id,
                                               phone_id=ctx.phone_id)
            if message is None:
                raise ActionRefused(Refusal.NO_PAYMENT_CHANNEL, "the debtor's company sends no payment links")
            await self._result(conn, ctx, CallResult.PAYMENT_LINK, "payment_link_requested", {"via": message["via"]})

    async def record_lead(self, ctx: CallContext, *, interest: int, key_points: list[str], objections: list[str],
                          wants_contact: bool) -> str:
        """A sales call's lead, qualified (interest 1-5): the call's result says whether it is warm
        (interest 4 or more, or an executive's call accepted), which the analysis turns into a place in
        the ready-for-human queue. The result recorded."""
        self._debtor(ctx)
        if not 1 <= interest <= 5:
            raise ActionRefused(Refusal.BAD_ARGUMENTS, f"interest must be 1 to 5, got {interest}")
        result = CallResult.INTERESTED if interest >= 4 or wants_contact else CallResult.NOT_INTERESTED
        await self.note(ctx, result, "lead_qualified", {
            "interest": interest, "key_points": key_points, "objections": objections, "wants_contact": wants_contact})
        return result

    async def transfer_to_agent(self, ctx: CallContext, reason: str = "") -> None:
        """The caller goes to a person; the call itself moves them (the dialplan's `[human-agents]`)."""
        await self.note(ctx, CallResult.TRANSFER, "transfer_requested", {"reason": reason})

    async def end_call(self, ctx: CallContext, outcome: str) -> None:
        """The conversation's closing result (already paid, refused, dispute, cannot pay...)."""
        await self.note(ctx, outcome, "call_result", {"outcome": outcome})

    async def note(self, ctx: CallContext, result: str, event: str, data: dict[str, Any] | None = None) -> None:
        """A result with no other effect here (already paid, dispute, transfer, payment link...)."""
        async with self._pool.connection() as conn, conn.transaction():
            await self._result(conn, ctx, result, event, data or {})

    async def note_refusal(self, ctx: CallContext, tool: str, reason: str) -> None:
        """A tool the rules refused: an event only, the call's result stays as it was."""
        async with self._pool.connection() as conn:
            await conn.execute("INSERT INTO call_events (attempt_id, kind, data) VALUES (%s, %s, %s)",
                               (ctx.attempt_id, "tool_refused", Jsonb({"tool": tool, "reason": reason})))

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def _debtor(ctx: CallContext) -> int:
        if ctx.debtor_id is None:
            raise ActionRefused(Refusal.UNIDENTIFIED, "the caller has not been identified")
        return ctx.debtor_id

    @staticmethod
    async def _result(conn: Any, ctx: CallContext, result: str, event: str, data: dict[str, Any]) -> None:
        cur = await conn.execute(
            "UPDATE call_attempts SET result = %s WHERE id = %s RETURNING direction, remote_number",
            (result, ctx.attempt_id))
        attempt = await cur.fetchone()
        await conn.execute("INSERT INTO call_events (attempt_id, kind, data) VALUES (%s, %s, %s)",
                           (ctx.attempt_id, event, Jsonb(data)))
        if event in EVENTS and attempt is not None:
            # In the action's transaction: a refused or failed action announces nothing. The context's ids
            # win over the attempt row's (an inbound caller is identified during the call).
            direction, remote_number = attempt
            summary = call_summary(ctx.attempt_id, direction=direction, remote_number=remote_number,
                                   debtor_id=ctx.debtor_id, campaign_id=ctx.campaign_id, job_id=ctx.job_id,
                                   phone_id=ctx.phone_id)
            await emit(conn, event, {"call": summary, **data}, call_key=ctx.attempt_id)
