"""The wave planner: at each wave, pick who to call under every limit, and queue them, once.

One transaction per wave: the `waves` row (unique per campaign, local date and slot), the new
call jobs and the count of who was held back and why. A second planner process, a restart or a
misfired trigger that tries the same wave finds the row and does nothing; a crash before the
commit leaves nothing, so the wave runs again whole.

The selection is one set-based statement over the campaign's debtors, with the limits the
contact policy applies per debtor (daily calls, weekly contacts, waiting after a conversation)
and the holds of `campaigns.holds` (an open promise, a follow-up waiting for a person), so that
a wave over a million debtors takes seconds. The policy still has the last word at dial time,
per debtor (`ContactService.gate`).

A debtor whose promise's date and grace have passed unpaid is queued first, with a reminder job
naming the promise, and the statement marks the promise broken: only promises whose reminder was
actually inserted (the daily quota and the law's limits may leave one for a later wave), and, as
the unique reminder index lets one planner's insert through, by one planner only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from campaigns.campaign import Campaign
from campaigns.contacts import HISTORY
from campaigns.holds import WAITING_FOR_HUMAN_SQL, WAITING_PARAMS
from campaigns.policy import ContactPolicy
from campaigns.queue import JobPurpose

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WaveResult:
    campaign_id: int
    local_date: str
    slot: str
    wave_id: int | None  # None: this wave had already been planned
    enqueued: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    reminders: int = 0  # of `enqueued`, the reminders of broken promises

    @property
    def already_planned(self) -> bool:
        return self.wave_id is None


_SELECT_AND_ENQUEUE = f"""
WITH attempts AS (
    SELECT debtor_id,
           count(*) FILTER (WHERE created_at >= %(day_start)s) AS today,
           count(*) FILTER (WHERE outcome = 'answered' AND created_at > %(now)s - interval '7 days') AS contacts_7d,
           max(created_at) FILTER (WHERE outcome = 'answered') AS last_contact
      FROM call_attempts
     WHERE direction = 'outbound' AND debtor_id IS NOT NULL AND created_at > %(now)s - %(history)s
     GROUP BY debtor_id
), held AS (
    -- What earlier conversations left, per debtor (campaigns/holds.py): a follow-up waiting for a
    -- person; an open promise still holding the calls (its date plus the grace is today or later);
    -- the newest open promise past its grace (what a reminder is about).
    SELECT debtor_id, bool_or(waiting) AS waiting, bool_or(promise_holds) AS promise_holds,
           max(overdue_id) AS overdue_id
      FROM (SELECT a.debtor_id, true AS waiting, false AS promise_holds, NULL::bigint AS overdue_id
              FROM call_attempts a WHERE {WAITING_FOR_HUMAN_SQL}
            UNION ALL
            SELECT debtor_id, false, promised_date + %(grace)s >= %(today)s,
                   CASE WHEN promised_date + %(grace)s < %(today)s THEN id END
              FROM promises WHERE status = 'open') facts
     GROUP BY debtor_id
), history AS (
    -- Joined before they meet the debtors: one hash probe per debtor of the selection, as without holds.
    SELECT * FROM attempts FULL JOIN held USING (debtor_id)
), candidates AS (
    SELECT d.id, d.due_date, d.amount_owed,
           CASE WHEN NOT coalesce(a.promise_holds, false) THEN a.overdue_id END AS promise_id,
           CASE
             WHEN d.excluded_at IS NOT NULL THEN 'excluded'
             WHEN a.waiting THEN 'waiting_for_human'
             WHEN a.promise_holds THEN 'open_promise'
             WHEN EXISTS (SELECT 1 FROM call_jobs j WHERE j.campaign_id = %(cid)s AND j.debtor_id = d.id
                            AND (j.state IN ('queued', 'claimed')
                                 OR (j.state = 'done' AND j.updated_at >= %(day_start)s)))
               THEN 'already_in_queue_or_reached_today'
             -- A lead hears an offer once per campaign: reached once (interested or not), never again.
             WHEN %(contact_kind)s = 'lead' AND EXISTS (SELECT 1 FROM call_jobs j WHERE j.campaign_id = %(cid)s
                                                          AND j.debtor_id = d.id AND j.state = 'done')
               THEN 'lead_already_reached'
             WHEN NOT EXISTS (SELECT 1 FROM phones p WHERE p.debtor_id = d.id AND p.status = 'active'
                                AND NOT EXISTS (SELECT 1 FROM do_not_call n WHERE n.e164 = p.e164))
               THEN 'no_callable_phone'
             WHEN coalesce(a.today, 0) >= %(calls_per_day)s THEN 'daily_call_limit'
             WHEN %(contacts_per_week)s::int IS NOT NULL AND coalesce(a.contacts_7d, 0) >= %(contacts_per_week)s
               THEN 'weekly_contact_limit'
             WHEN %(days_after_contact)s::int IS NOT NULL
                  AND a.last_contact > %(now)s - make_interval(days => %(days_after_contact)s)
               THEN 'wait_after_contact'
           END AS reason
      FROM debtors d LEFT JOIN history a ON a.debtor_id = d.id
     WHERE d.company_id IS NOT DISTINCT FROM %(company)s
       AND d.kind = %(contact_kind)s  -- a sales campaign calls the company's leads, a collection its debtors
       AND (cardinality(%(types)s::text[]) = 0 OR d.delinquency_type = ANY (%(types)s::text[]))
), enqueued AS (
    INSERT INTO call_jobs (campaign_id, debtor_id, trunk, wave_id, next_at, purpose, promise_id)
    SELECT %(cid)s, id, %(trunk)s, %(wave)s, %(now)s,
           CASE WHEN promise_id IS NULL THEN %(purpose)s ELSE %(reminder)s END, promise_id
      FROM candidates WHERE reason IS NULL
     -- broken promises first; then the most overdue, then the largest debt
     ORDER BY promise_id IS NULL, due_date NULLS LAST, amount_owed DESC NULLS LAST, id
     LIMIT %(quota)s
    -- a live job of this debtor (a concurrent callback), or a reminder another planner just queued
    ON CONFLICT DO NOTHING
    RETURNING debtor_id, promise_id
), broken AS (
    -- The reminded promise, and any older one of the same debtor also past its grace: all broken.
    UPDATE promises p SET status = 'broken', settled_at = %(now)s, settled_by = 'planner'
      FROM enqueued e
     WHERE e.promise_id IS NOT NULL AND p.debtor_id = e.debtor_id AND p.status = 'open'
       AND p.promised_date + %(grace)s < %(today)s
    RETURNING p.id
)
SELECT coalesce(reason, 'eligible'), count(*) FROM candidates GROUP BY 1
UNION ALL
SELECT 'enqueued', count(*) FROM enqueued
UNION ALL
SELECT 'reminders', count(*) FROM enqueued WHERE promise_id IS NOT NULL
UNION ALL
SELECT 'promises_broken', count(*) FROM broken
"""

# The debtors this campaign has already worked today, whoever queued them: queued today, due today,
# settled today, or called today. A job carried over from yesterday and settled (or called and
# deferred to tomorrow) before this wave is one of the day's quota, not a free slot.
_WORKED_TODAY = """
SELECT count(*) FROM (
    SELECT debtor_id FROM call_jobs
     WHERE campaign_id = %(cid)s
       AND (created_at >= %(start)s OR (state IN ('queued', 'claimed') AND next_at < %(end)s)
            OR (state IN ('done', 'failed', 'cancelled') AND updated_at >= %(start)s))
    UNION
    SELECT debtor_id FROM call_attempts
     WHERE campaign_id = %(cid)s AND direction = 'outbound' AND debtor_id IS NOT NULL
       AND created_at >= %(start)s
) worked
"""


def wave_params(campaign: Campaign, now: datetime, wave_id: int, quota: int) -> dict[str, Any]:
    """The parameters of `_SELECT_AND_ENQUEUE` for `campaign`'s wave at `now` (bench/wave_planning.py too)."""
    local = now.astimezone(campaign.tz)
    config = campaign.policy_config
    profile = ContactPolicy(config).profile
    return {
        "cid": campaign.id, "company": campaign.company_id, "trunk": campaign.trunk, "wave": wave_id,
        "now": now, "day_start": datetime.combine(local.date(), time(0), campaign.tz), "history": HISTORY,
        "quota": quota, "types": list(campaign.selection.delinquency_types),
        "calls_per_day": config.calls_per_day, "contacts_per_week": profile.contacts_per_week,
        "days_after_contact": profile.days_after_contact,
        # Promises' days are the campaign's local days here; the dial-time gate counts in the debtor's zone.
        "today": local.date(), "grace": config.promise_grace_days,
        "purpose": (JobPurpose.SALES if campaign.kind == "sales" else JobPurpose.COLLECTION).value,
        "reminder": JobPurpose.PROMISE_REMINDER.value,
        "contact_kind": "lead" if campaign.kind == "sales" else "debtor",
        **WAITING_PARAMS,
    }


class WavePlanner:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def plan(self, campaign: Campaign, now: datetime, *, slot: str | None = None) -> WaveResult:
        """Plan the wave `slot` ('09:00'; None: a wave launched by hand now) of `campaign`'s local day."""
        tz = campaign.tz
        local = now.astimezone(tz)
        slot = slot or f"manual-{local:%H:%M:%S}"
        day_start = datetime.combine(local.date(), time(0), tz)
        policy, config = ContactPolicy(campaign.policy_config), campaign.policy_config
        async with self._pool.connection() as conn, conn.transaction():
            # JIT compiling this one statement costs more than it saves (0.2-0.35 s of a 3 s wave over
            # a million debtors, bench/wave_planning.py).
            await conn.execute("SET LOCAL jit = off")
            cur = await conn.execute(
                """INSERT INTO waves (campaign_id, local_date, slot) VALUES (%s, %s, %s)
                   ON CONFLICT (campaign_id, local_date, slot) DO NOTHING RETURNING id""",
                (campaign.id, local.date(), slot))
            row = await cur.fetchone()
            if row is None:
                log.info("campaign %s: wave %s %s was already planned", campaign.name, local.date(), slot)
                return WaveResult(campaign.id, local.date().isoformat(), slot, None)
            wave_id = row[0]
            skipped: dict[str, int] = {}
            enqueued = reminders = broken = 0
            closed = policy.closed_reason(local)
            if campaign.status != "active":
                skipped = {f"campaign_{campaign.status}": 1}
            elif closed:
                skipped = {closed: 1}
            else:
                cur = await conn.execute(_WORKED_TODAY, {"cid": campaign.id, "start": day_start,
                                                         "end": day_start + timedelta(days=1)})
                (worked_today,) = await cur.fetchone()
                quota = max(0, config.debtors_per_day - worked_today)
                cur = await conn.execute(_SELECT_AND_ENQUEUE, wave_params(campaign, now, wave_id, quota))
                counts = dict(await cur.fetchall())
                enqueued = counts.pop("enqueued", 0)
                reminders = counts.pop("reminders", 0)
                broken = counts.pop("promises_broken", 0)
                eligible = counts.pop("eligible", 0)
                skipped = {k: v for k, v in counts.items() if v}
                if eligible > enqueued:
                    skipped["daily_debtor_quota"] = eligible - enqueued
            await conn.execute("UPDATE waves SET enqueued = %s, reminders = %s, skipped = %s WHERE id = %s",
                               (enqueued, reminders, Jsonb(skipped), wave_id))
        log.info("campaign %s: wave %s %s queued %d debtor(s) (%d promise reminder(s), %d promise(s) marked broken); "
                 "held back: %s", campaign.name, local.date(), slot, enqueued, reminders, broken, skipped or "none")
        return WaveResult(campaign.id, local.date().isoformat(), slot, wave_id, enqueued, skipped, reminders)
