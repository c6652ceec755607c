"""A debtor as the agent needs them for one call: name, company, the debt, and the flow to use."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from campaigns.campaign import CampaignStore
from campaigns.payment_links import PaymentOptions, payment_options
from countries.identity import InvalidIdentity, normalise_phone


@dataclass(frozen=True, slots=True)
class PromiseDue:
    """The broken promise a reminder call is about (`call_jobs.promise_id`): what the debtor said they
    would pay, and when."""

    promise_id: int
    promised_date: date  # a plan's first instalment
    amount: int  # the payment promised; a plan's: each instalment
    installments: int | None = None


@dataclass(frozen=True, slots=True)
class DebtorCard:
    debtor_id: int
    full_name: str
    company: str
    timezone: str
    delinquency_type: str
    flow: str | None  # the campaign's flow for this delinquency type, if a campaign says one
    campaign_id: int | None = None  # the campaign the card was drawn for
    # The debtor's own country (`debtors.country`; the campaign's when a card is built without the row):
    # the agent's calendar, regional words and the calling hours a callback is moved into.
    country: str | None = None
    amount_owed: int | None = None
    installments_owed: int | None = None
    due_date: date | None = None
    max_date: date | None = None
    variables: dict[str, str] = field(default_factory=dict)
    # The job's (`JobPurpose`): 'collection', 'promise_reminder' or 'sales'; a lead's card is always 'sales'
    # (a lead calling back has no job, and owes nothing to talk about).
    purpose: str = "collection"
    promise: PromiseDue | None = None  # for a 'promise_reminder': the promise it is about
    payment: PaymentOptions = field(default_factory=PaymentOptions)  # how the company's debtors can pay


class DebtorDirectory:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool
        self._campaigns = CampaignStore(pool)

    async def card(self, debtor_id: int, campaign_id: int | None = None,
                   job_id: int | None = None) -> DebtorCard | None:
        """The debtor's card for a call; with the job the call is for, what it is for (a reminder names
        the broken promise)."""
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                """SELECT d.id, d.full_name, coalesce(c.name, '') AS company, d.timezone, d.delinquency_type,
                          d.amount_owed, d.installments_owed, d.due_date, d.max_date, d.variables, d.country,
                          d.kind
                     FROM debtors d LEFT JOIN companies c ON c.id = d.company_id WHERE d.id = %s""", (debtor_id,))
            row: dict[str, Any] | None = await cur.fetchone()
            purpose, promise = await self._job_purpose(cur, job_id, debtor_id) if job_id is not None \
                else ("collection", None)
        if row is None:
            return None
        if row["kind"] == "lead":
            purpose, promise = "sales", None
        campaign = await self._campaigns.get(campaign_id) if campaign_id is not None else None
        payment = await payment_options(self._pool, debtor_id)
        return DebtorCard(
            debtor_id=row["id"], full_name=row["full_name"], company=row["company"], timezone=row["timezone"],
            delinquency_type=row["delinquency_type"],
            flow=campaign.flow_for(row["delinquency_type"]) if campaign else None,
            campaign_id=campaign.id if campaign else None,
            amount_owed=int(row["amount_owed"]) if row["amount_owed"] is not None else None,
            installments_owed=row["installments_owed"], due_date=row["due_date"], max_date=row["max_date"],
            variables={k: str(v) for k, v in (row["variables"] or {}).items()},
            country=row["country"] or (campaign.country if campaign else None), purpose=purpose, promise=promise,
            payment=payment)

    @staticmethod
    async def _job_purpose(cur: Any, job_id: int, debtor_id: int) -> tuple[str, PromiseDue | None]:
        await cur.execute(
            """SELECT j.purpose, p.id AS promise_id, p.promised_date, p.amount, p.installments, p.installment_amount
                 FROM call_jobs j LEFT JOIN promises p ON p.id = j.promise_id
                WHERE j.id = %s AND j.debtor_id = %s""", (job_id, debtor_id))
        job = await cur.fetchone()
        if job is None:
            return "collection", None
        if job["promise_id"] is None:
            return job["purpose"], None
        each = job["installment_amount"] if job["installments"] else job["amount"]
        return job["purpose"], PromiseDue(job["promise_id"], job["promised_date"], int(each),
                                          job["installments"] if job["installments"] else None)

    async def find_by_caller(self, number: str, country: str = "CL") -> DebtorCard | None:
        """The debtor whose active phone is calling, when exactly one is (a shared family phone
        identifies nobody: the agent then asks, as for an unknown caller). A number no debtor has may
        be a sales lead calling back the number that called them: the lead's card, when exactly one
        lead has it. A debtor comes first: a phone on both is answered as the debtor's, who must be
        able to reach their collections line whatever else they were offered."""
        try:
            e164 = normalise_phone(number, country)
        except InvalidIdentity:
            return None  # an extension, a withheld number
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                """SELECT DISTINCT p.debtor_id, d.kind FROM phones p JOIN debtors d ON d.id = p.debtor_id
                    WHERE p.e164 = %s AND p.status = 'active' AND d.excluded_at IS NULL""", (e164,))
            found = await cur.fetchall()
        for kind in ("debtor", "lead"):
            ids = [debtor_id for debtor_id, k in found if k == kind]
            if ids:
                return await self._card_in_latest_campaign(ids[0]) if len(ids) == 1 else None
        return None

    async def find_by_national_id(self, national_id: str) -> DebtorCard | None:
        """The debtor with this (canonical) national id; when several companies have them on file,
        the one whose campaign called them last (that is the call they are likely returning)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                """SELECT d.id FROM debtors d WHERE d.national_id = %s AND d.kind = 'debtor'
                    ORDER BY (SELECT max(j.id) FROM call_jobs j WHERE j.debtor_id = d.id) DESC NULLS LAST, d.id DESC
                    LIMIT 1""", (national_id,))
            row = await cur.fetchone()
        return await self._card_in_latest_campaign(row[0]) if row else None

    async def phone_ends_with(self, debtor_id: int, digits: str) -> bool:
        """Whether a phone on file for the debtor ends with `digits` (an inbound caller's second factor)."""
        if not digits.isdigit():
            return False
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT EXISTS (SELECT 1 FROM phones WHERE debtor_id = %s AND right(e164, %s) = %s)",
                (debtor_id, len(digits), digits))
            return (await cur.fetchone())[0]

    async def identify_failures(self, caller: str, *, within: timedelta, other_than: uuid.UUID) -> int:
        """Failed identifications by calls in from `caller` (the calling number; withheld ones share
        theirs) in the last `within`, the call `other_than` aside (it counts its own)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                """SELECT count(*) FROM call_events e JOIN call_attempts a ON a.id = e.attempt_id
                    WHERE e.kind = 'identify_failed' AND a.direction = 'inbound' AND a.remote_number = %s
                      AND a.created_at > now() - %s AND a.id <> %s""", (caller, within, other_than))
            return (await cur.fetchone())[0]

    async def card_for_attempt(self, attempt_id: uuid.UUID) -> DebtorCard | None:
        """The debtor an earlier call was with (a caller coming back from a transfer nobody answered)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT debtor_id, campaign_id FROM call_attempts WHERE id = %s", (attempt_id,))
            row = await cur.fetchone()
        if row is None or row[0] is None:
            return None
        return await self.card(row[0], row[1])

    async def link_attempt(self, attempt_id: uuid.UUID, card: DebtorCard) -> None:
        """Record who an inbound call turned out to be with, once they are identified."""
        async with self._pool.connection() as conn:
            await conn.execute(
                """UPDATE call_attempts SET debtor_id = %s, campaign_id = coalesce(campaign_id, %s)
                    WHERE id = %s AND debtor_id IS NULL""", (card.debtor_id, card.campaign_id, attempt_id))

    async def _card_in_latest_campaign(self, debtor_id: int) -> DebtorCard | None:
        # The campaign of the debtor's latest job, for its flow.
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT campaign_id FROM call_jobs WHERE debtor_id = %s ORDER BY id DESC LIMIT 1", (debtor_id,))
            row = await cur.fetchone()
        return await self.card(debtor_id, row[0] if row else None)
