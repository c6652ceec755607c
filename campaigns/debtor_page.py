"""A debtor as a supervisor looks them up: found by RUT, phone or name, with their calls, promises,
callbacks, phones, and why they are (not) being called today, in the policy's own words.

Phones and national ids leave here masked, as everywhere the API shows them; a phone is named by its
id for the actions that need one (do-not-call).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from campaigns.campaign import CampaignStore
from campaigns.contacts import load_state
from campaigns.holds import load_holds, promises_of
from campaigns.policy import ContactPolicy, Verdict
from countries.privacy import mask_national_id, mask_phone

MAX_FOUND = 50
_DIGITS = re.compile(r"\d")

# By the national id's digits (any formatting: "12.345.678-5", "123456785"), the end of a phone
# ("+56 9 1234 5678", "5678"), or the words of the name, each anywhere in it (accents and case ignored).
_SEARCH = """
SELECT d.id, d.full_name, d.national_id, c.name AS company, d.amount_owed, d.excluded_at, d.exclusion_reason
  FROM debtors d LEFT JOIN companies c ON c.id = d.company_id
 WHERE (%(digits)s <> '' AND (regexp_replace(d.national_id, '[^0-9kK]', '', 'g') ILIKE %(digits)s || '%%'
        OR EXISTS (SELECT 1 FROM phones p WHERE p.debtor_id = d.id AND length(%(digits)s) >= 4
                   AND p.e164 LIKE '%%' || %(digits)s)))
    OR (cardinality(%(words)s::text[]) > 0 AND NOT EXISTS (
        SELECT 1 FROM unnest(%(words)s::text[]) AS w
         WHERE translate(lower(d.full_name), 'áéíóúüñ', 'aeiouun')
               NOT LIKE '%%' || translate(lower(w), 'áéíóúüñ', 'aeiouun') || '%%'))
 ORDER BY d.full_name, d.id LIMIT %(limit)s
"""


class DebtorPages:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool
        self._campaigns = CampaignStore(pool)

    async def search(self, text: str) -> list[dict[str, Any]]:
        text = text.strip()
        digits = "".join(_DIGITS.findall(text)) + ("K" if text[-1:] in "kK" and _DIGITS.search(text) else "")
        # A name's words, each anywhere in the name, with LIKE's own wildcards taken literally.
        words = [] if _DIGITS.search(text) else [
            w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for w in text.split()]
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(_SEARCH, {"digits": digits, "words": words, "limit": MAX_FOUND})
            return [_masked(r) for r in await cur.fetchall()]

    async def page(self, debtor_id: int, now: datetime | None = None) -> dict[str, Any] | None:
        now = now or datetime.now().astimezone()
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                """SELECT d.id, d.full_name, d.national_id, c.name AS company, d.amount_owed, d.installments_owed,
                          d.due_date, d.max_date, d.country, d.timezone, d.excluded_at, d.exclusion_reason
                     FROM debtors d LEFT JOIN companies c ON c.id = d.company_id WHERE d.id = %s""", (debtor_id,))
            debtor = await cur.fetchone()
            if debtor is None:
                return None
            await cur.execute(
                """SELECT p.id, p.e164, p.position, p.status, n.reason AS do_not_call, p.last_tried_at
                     FROM phones p LEFT JOIN do_not_call n ON n.e164 = p.e164
                    WHERE p.debtor_id = %s ORDER BY p.position""", (debtor_id,))
            phones = [{**p, "e164": mask_phone(p["e164"])} for p in await cur.fetchall()]
            await cur.execute(
                """SELECT a.id, a.created_at, a.direction, a.outcome, a.result, cp.name AS campaign,
                          an.status AS analysis_status, an.summary, an.next_action, an.interest_score,
                          an.needs_human AND an.closed_at IS NULL AND an.status = 'done' AS waiting_for_person,
                          an.closed_outcome, (a.recording_path IS NOT NULL
                                              AND a.recording_deleted_at IS NULL) AS has_recording
                     FROM call_attempts a LEFT JOIN campaigns cp ON cp.id = a.campaign_id
                     LEFT JOIN call_analyses an ON an.attempt_id = a.id
                    WHERE a.debtor_id = %s ORDER BY a.created_at DESC LIMIT 50""", (debtor_id,))
            calls = await cur.fetchall()
            await cur.execute(
                """SELECT j.id, cp.name AS campaign, j.state, j.reason, j.purpose, j.next_at, j.callback_at,
                          j.attempts
                     FROM call_jobs j JOIN campaigns cp ON cp.id = j.campaign_id
                    WHERE j.debtor_id = %s ORDER BY j.id DESC LIMIT 20""", (debtor_id,))
            jobs = await cur.fetchall()
            promises = [{"id": p.id, "date": p.promised_date, "amount": p.amount, "installments": p.installments,
                         "status": p.status, "settled_at": p.settled_at, "settled_by": p.settled_by}
                        for p in await promises_of(conn, debtor_id)]
            await cur.execute(
                """SELECT at, decision, reason, detail FROM contact_decisions WHERE debtor_id = %s
                    ORDER BY id DESC LIMIT 10""", (debtor_id,))
            decisions = await cur.fetchall()
            why = await self._why(conn, debtor_id, now)
        return {**_masked(debtor), "phones": phones, "calls": calls, "jobs": jobs,
                "callbacks": [j for j in jobs if j["callback_at"] is not None and j["state"] == "queued"],
                "promises": promises, "decisions": decisions, "why_not_called": why}

    async def _why(self, conn: Any, debtor_id: int, now: datetime) -> list[dict[str, Any]]:
        """Per campaign with a job for this debtor: the policy's verdict now, with its reason and law."""
        cur = await conn.execute("SELECT DISTINCT campaign_id FROM call_jobs WHERE debtor_id = %s", (debtor_id,))
        out = []
        _, waiting = await load_holds(conn, debtor_id)
        for (campaign_id,) in await cur.fetchall():
            campaign = await self._campaigns.get(campaign_id)
            if campaign is None:
                continue
            decision = ContactPolicy(campaign.policy_config).decide(await load_state(conn, debtor_id, campaign), now)
            out.append({"campaign": campaign.name, "campaign_status": campaign.status,
                        "verdict": decision.verdict.value, "reason": decision.reason,
                        "not_before": decision.not_before, "law": decision.law,
                        "callable_now": decision.verdict is Verdict.CALL and campaign.status == "active",
                        "waiting_for_human": waiting.attempt_id if waiting else None})
        return out

    async def requeue(self, job_id: int, debtor_id: int) -> dict[str, Any] | None:
        """A person puts the debtor's job back in the queue, due now; the policy still decides at the
        gate (hours, limits, exclusions). None: no such job of this debtor, or it is being dialed."""
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                """UPDATE call_jobs SET state = 'queued', next_at = now(), reason = 'requeued_by_operator',
                          updated_at = now()
                    WHERE id = %s AND debtor_id = %s AND state <> 'claimed' RETURNING id, state, next_at""",
                (job_id, debtor_id))
            return await cur.fetchone()


def _masked(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "national_id": mask_national_id(row["national_id"]) if row.get("national_id") else None}
