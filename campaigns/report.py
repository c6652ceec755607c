"""What an operator asks: how is the campaign going, and why was this person (not) called today?"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from psycopg_pool import AsyncConnectionPool

from campaigns.campaign import Campaign, CampaignStore, zone
from campaigns.contacts import load_state
from campaigns.holds import load_holds, promises_of
from campaigns.policy import ContactPolicy, Verdict
from countries.identity import InvalidIdentity, normalise_national_id
from countries.privacy import mask_national_id, mask_phone


@dataclass(frozen=True, slots=True)
class Progress:
    campaign: str
    jobs: dict[str, int]
    due_now: int
    live_calls: int
    outcomes_today: dict[str, int]
    waves_today: list[tuple[str, int]] = field(default_factory=list)

    @property
    def settled(self) -> bool:
        """Nothing is being dialed and nothing is due: what is left waits for its retry time."""
        return self.jobs.get("claimed", 0) == 0 and self.due_now == 0 and self.live_calls == 0

    def line(self) -> str:
        waves = ", ".join(f"{slot}: {n}" for slot, n in self.waves_today) or "none"
        jobs = " ".join(f"{k}={v}" for k, v in sorted(self.jobs.items())) or "none"
        outcomes = " ".join(f"{k}={v}" for k, v in sorted(self.outcomes_today.items())) or "none"
        return (f"[{self.campaign}] waves today: {waves} | jobs: {jobs} (due now {self.due_now}) | "
                f"calls up: {self.live_calls} | outcomes today: {outcomes}")


async def progress(pool: AsyncConnectionPool, campaign: Campaign, now: datetime) -> Progress:
    day_start = datetime.combine(now.astimezone(campaign.tz).date(), time(0), campaign.tz)
    async with pool.connection() as conn:
        cur = await conn.execute(
            """SELECT state, count(*), count(*) FILTER (WHERE state = 'queued' AND next_at <= %s)
                 FROM call_jobs WHERE campaign_id = %s GROUP BY state""", (now, campaign.id))
        rows = await cur.fetchall()
        cur = await conn.execute(
            """SELECT coalesce(outcome, 'in_progress'), count(*) FROM call_attempts
                WHERE campaign_id = %s AND created_at >= %s GROUP BY 1""", (campaign.id, day_start))
        outcomes = dict(await cur.fetchall())
        cur = await conn.execute(
            "SELECT slot, enqueued FROM waves WHERE campaign_id = %s AND local_date = %s ORDER BY planned_at",
            (campaign.id, day_start.date()))
        waves = [(slot, n) for slot, n in await cur.fetchall()]
    return Progress(campaign.name, {state: n for state, n, _ in rows}, sum(due for _, _, due in rows),
                    outcomes.get("in_progress", 0), {k: v for k, v in outcomes.items() if k != "in_progress"},
                    waves)


async def explain(pool: AsyncConnectionPool, national_id: str, *, country: str = "CL",
                  now: datetime | None = None) -> list[str]:
    """Everything that decides whether this person is called, as lines for a terminal."""
    now = now or datetime.now().astimezone()
    try:
        wanted = normalise_national_id(national_id, country)
    except InvalidIdentity as exc:
        return [f"not a valid national id: {exc}"]
    lines: list[str] = []
    async with pool.connection() as conn:
        cur = await conn.execute(
            """SELECT d.id, c.name, d.excluded_at, d.exclusion_reason, d.timezone FROM debtors d
                 LEFT JOIN companies c ON c.id = d.company_id WHERE d.national_id = %s ORDER BY d.id""", (wanted,))
        debtors = await cur.fetchall()
        if not debtors:
            return [f"no debtor with national id {mask_national_id(wanted)}"]
        for debtor_id, company, excluded_at, reason, tz_name in debtors:
            tz = zone(tz_name)

            def local(at: datetime, fmt: str = "%a %d %H:%M", tz: ZoneInfo = tz) -> str:
                return at.astimezone(tz).strftime(fmt)

            lines.append(f"debtor {debtor_id} ({mask_national_id(wanted)}, company {company}; times in {tz.key})")
            if excluded_at:
                lines.append(f"  EXCLUDED since {local(excluded_at, '%Y-%m-%d %H:%M')}: {reason}")
            cur = await conn.execute(
                """SELECT p.e164, p.position, p.status, n.reason, p.last_tried_at FROM phones p
                     LEFT JOIN do_not_call n ON n.e164 = p.e164 WHERE p.debtor_id = %s ORDER BY p.position""",
                (debtor_id,))
            for e164, position, status, dnc, tried in await cur.fetchall():
                lines.append(f"  phone {position}: {mask_phone(e164)} {status}"
                             + (f", do-not-call ({dnc})" if dnc else "")
                             + (f", last tried {local(tried)}" if tried else ""))
            cur = await conn.execute(
                """SELECT created_at, coalesce(outcome, 'in progress') FROM call_attempts
                    WHERE debtor_id = %s AND direction = 'outbound' AND created_at > %s ORDER BY created_at""",
                (debtor_id, now - timedelta(days=7)))
            calls = await cur.fetchall()
            lines.append(f"  calls in the last 7 days: {len(calls)}"
                         + "".join(f"\n    {local(at)} {outcome}" for at, outcome in calls))
            lines += [f"  {promise.line()}" for promise in await promises_of(conn, debtor_id, limit=5)]
            _, waiting = await load_holds(conn, debtor_id)
            if waiting is not None:
                lines.append(f"  held back: waiting_for_human: the call of {local(waiting.at)} ended {waiting.result}; "
                             f"a person closes its follow-up (POST /api/v1/followups/{waiting.attempt_id}/close)")
            cur = await conn.execute(
                """SELECT at, decision, reason, (detail->>'not_before')::timestamptz, detail->>'law'
                     FROM contact_decisions WHERE debtor_id = %s ORDER BY id DESC LIMIT 10""", (debtor_id,))
            for at, decision, why, until, law in await cur.fetchall():
                lines.append(f"  {local(at)} {decision}: {why}" + (f" until {local(until)}" if until else "")
                             + (f" [{law}]" if law else ""))
            cur = await conn.execute(
                """SELECT DISTINCT campaign_id FROM call_jobs WHERE debtor_id = %s""", (debtor_id,))
            store = CampaignStore(pool)
            for (campaign_id,) in await cur.fetchall():
                campaign = await store.get(campaign_id)
                assert campaign is not None
                state = await load_state(conn, debtor_id, campaign)
                decision = ContactPolicy(campaign.policy_config).decide(state, now)
                verdict = (f"held back: {decision.reason}" if decision.verdict is Verdict.HOLD
                           else f"{decision.verdict.value} ({decision.reason})")
                lines.append(f"  campaign {campaign.name!r}, policy now: {verdict}"
                             + (f" until {local(decision.not_before)}" if decision.not_before else "")
                             + (f" [{decision.law}]" if decision.law else ""))
    return lines

