"""What supervisors read: calls with their results, live calls, wave progress and the summary figures.

Read-only queries for the operator API, the dashboard and the exports. Phone numbers leave this
module masked: a supervisor screen, a CSV on someone's laptop and a log line are all places a
debtor's number should not be readable in full.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from countries.privacy import mask_identifiers_in, mask_national_id, mask_phone

MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class CallFilter:
    campaign_id: int | None = None
    outcome: str | None = None
    direction: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    offset: int = 0


_CALL_COLUMNS = """
    a.id, a.direction, a.state, a.outcome, a.result, a.remote_number, a.campaign_id, c.name AS campaign,
    a.debtor_id, d.full_name AS debtor, a.job_id, a.hangup_cause, a.hangup_cause_txt, a.dial_status,
    a.created_at, a.answered_at, a.ended_at,
    extract(epoch FROM a.ended_at - a.answered_at)::float8 AS duration_s,
    a.cost, a.recording_path IS NOT NULL AS has_recording
"""
_CALL_FROM = """
  FROM call_attempts a
  LEFT JOIN campaigns c ON c.id = a.campaign_id
  LEFT JOIN debtors d ON d.id = a.debtor_id
"""
_CALL_WHERE = """
 WHERE (%(campaign_id)s::bigint IS NULL OR a.campaign_id = %(campaign_id)s)
   AND (%(outcome)s::text IS NULL OR a.outcome = %(outcome)s)
   AND (%(direction)s::text IS NULL OR a.direction = %(direction)s)
   AND (%(since)s::timestamptz IS NULL OR a.created_at >= %(since)s)
   AND (%(until)s::timestamptz IS NULL OR a.created_at < %(until)s)
"""

# One row per call for the export, with its latest promise and the analysis' verdict.
EXPORT_QUERY = f"""
SELECT a.id, a.created_at, a.direction, c.name AS campaign, d.national_id, d.full_name AS debtor,
       a.remote_number, a.outcome, a.result, a.hangup_cause_txt,
       extract(epoch FROM a.ended_at - a.answered_at)::float8 AS duration_s, a.cost,
       p.promised_date, p.amount AS promised_amount,
       an.sentiment, an.interest_level, an.interest_score, an.next_action, an.needs_human, an.summary
  {_CALL_FROM}
  LEFT JOIN LATERAL (SELECT promised_date, amount FROM promises
                      WHERE attempt_id = a.id ORDER BY id DESC LIMIT 1) p ON true
  LEFT JOIN call_analyses an ON an.attempt_id = a.id
  {_CALL_WHERE}
 ORDER BY a.created_at, a.id LIMIT %(limit)s OFFSET %(offset)s
"""

# The reads below that a large call history makes slow are constants, so that
# bench/after_the_call explains these very texts (named parameters throughout).
PROMISE_QUERY = """
SELECT promised_date AS date, amount::float8 AS amount, installments, status
  FROM promises WHERE attempt_id = %(id)s ORDER BY id DESC LIMIT 1
"""
WAVES_QUERY = """
SELECT w.id, w.campaign_id, c.name AS campaign, w.slot, w.local_date AS day, w.planned_at,
       count(j.id) AS total,
       count(j.id) FILTER (WHERE j.state IN ('done', 'failed', 'cancelled')) AS done,
       count(j.id) FILTER (WHERE j.state = 'queued') AS queued,
       count(j.id) FILTER (WHERE j.state = 'claimed') AS in_progress,
       (SELECT count(DISTINCT a.debtor_id) FROM call_attempts a
         WHERE a.job_id = ANY (array_agg(j.id)) AND a.outcome = 'answered') AS contacts,
       (SELECT count(*) FROM promises p WHERE p.job_id = ANY (array_agg(j.id))) AS promises
  FROM waves w
  JOIN campaigns c ON c.id = w.campaign_id
  LEFT JOIN call_jobs j ON j.wave_id = w.id
 WHERE w.planned_at >= %(since)s
 GROUP BY w.id, c.name ORDER BY w.planned_at DESC LIMIT 20
"""
SUMMARY_QUERY = """
SELECT count(*) AS calls,
       count(*) FILTER (WHERE outcome = 'answered') AS answered,
       coalesce(sum(cost), 0) AS cost_total,
       (SELECT count(*) FROM promises p JOIN call_attempts pa ON pa.id = p.attempt_id
         WHERE pa.created_at >= %(since)s) AS promises,
       (SELECT avg(t.voice_to_voice_ms) FROM call_turns t JOIN call_attempts ta ON ta.id = t.attempt_id
         WHERE ta.created_at >= %(since)s AND NOT t.interrupted) AS avg_v2v
  FROM call_attempts WHERE created_at >= %(since)s
"""
CALLS_BY_OUTCOME_QUERY = """
SELECT direction, coalesce(outcome, 'in_progress'), count(*) FROM call_attempts GROUP BY 1, 2
"""
# Upper bounds (seconds) of the voice-to-voice histogram's buckets: the targets sit at 0.7 s and 0.9 s
# (one call) and 1.2 s (four at once), so the buckets are finest there.
VOICE_TO_VOICE_BUCKETS_S = (0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5, 2.0, 3.0, 5.0)
VOICE_TO_VOICE_HISTOGRAM_QUERY = (
    "SELECT " + ", ".join("count(*) FILTER (WHERE voice_to_voice_ms <= %s)" for _ in VOICE_TO_VOICE_BUCKETS_S)
    + ", count(*), coalesce(sum(voice_to_voice_ms), 0) FROM call_turns WHERE voice_to_voice_ms IS NOT NULL")


@dataclass(frozen=True, slots=True)
class LatencyHistogram:
    """A cumulative histogram read from the stored turns: `cumulative[i]` turns took at most
    `bounds_s[i]`; all turns ever stored count (turns are never deleted), so it only grows, as a
    Prometheus histogram must, and every process serving /metrics reports the same figures."""

    bounds_s: tuple[float, ...]
    cumulative: tuple[int, ...]
    count: int
    sum_s: float


def _call(row: dict[str, Any]) -> dict[str, Any]:
    row["remote_number"] = mask_phone(row["remote_number"])
    if row.get("cost") is not None:
        row["cost"] = float(row["cost"])
    return row


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Counts for a metrics scrape, read in one round trip's worth of queries."""

    live: dict[str, int]
    calls: dict[tuple[str, str], int]
    jobs: dict[str, int]
    webhooks: dict[str, int]
    analyses: dict[str, int]
    ready_for_human: int
    voice_to_voice: LatencyHistogram


class Supervision:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def calls(self, f: CallFilter) -> list[dict[str, Any]]:
        params = {"campaign_id": f.campaign_id, "outcome": f.outcome, "direction": f.direction,
                  "since": f.since, "until": f.until, "limit": min(f.limit, MAX_PAGE), "offset": f.offset}
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(f"SELECT {_CALL_COLUMNS} {_CALL_FROM} {_CALL_WHERE} "
                              "ORDER BY a.created_at DESC, a.id DESC LIMIT %(limit)s OFFSET %(offset)s", params)
            return [_call(r) for r in await cur.fetchall()]

    async def call(self, attempt_id: uuid.UUID) -> dict[str, Any] | None:
        """One call with everything known about it: turns, promise, usage and cost, analysis."""
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(f"SELECT {_CALL_COLUMNS}, a.usage, a.cost_detail, a.recording_ms, "
                              f"a.recording_deleted_at, a.metrics {_CALL_FROM} WHERE a.id = %s", (attempt_id,))
            row = await cur.fetchone()
            if row is None:
                return None
            await cur.execute(
                """SELECT idx, user_text, confidence, stt_final_ms, agent_first_output_ms, tts_first_audio_ms,
                          first_rtp_out_ms, voice_to_voice_ms, agent_spoken, interrupted, turn_rule, tool_calls,
                          sentiment, frustrated, heard_raw, stt_doubts
                     FROM call_turns WHERE attempt_id = %s ORDER BY idx""", (attempt_id,))
            row["turns"] = [_masked_turn(t) for t in await cur.fetchall()]
            await cur.execute(PROMISE_QUERY, {"id": attempt_id})
            row["promise"] = await cur.fetchone()
            await cur.execute(
                """SELECT status, analyzer, summary, sentiment, sentiment_trend, interest_level, next_action,
                          promise_date, promise_amount::float8 AS promise_amount, needs_human, priority,
                          classification, analyzed_at, closed_at, closed_outcome, closed_notes, closed_by,
                          transcript_version
                     FROM call_analyses WHERE attempt_id = %s""", (attempt_id,))
            row["analysis"] = await cur.fetchone()
        return _call(row)

    async def transcript(self, attempt_id: uuid.UUID) -> list[dict[str, Any]]:
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                """SELECT speaker, text, start_ms, end_ms, source, interrupted FROM call_lines
                    WHERE attempt_id = %s ORDER BY start_ms, id""", (attempt_id,))
            return [{**line, "text": mask_identifiers_in(line["text"], keyed=line["source"] == "dtmf")}
                    for line in await cur.fetchall()]

    async def recording(self, attempt_id: uuid.UUID) -> tuple[str | None, datetime | None] | None:
        """(key, deleted_at) of the call's recording: (None, None) if it was not recorded, a time if
        the retention deleted it; None if there is no such call."""
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT recording_path, recording_deleted_at FROM call_attempts WHERE id = %s",
                                     (attempt_id,))
            row = await cur.fetchone()
        return (row[0], row[1]) if row else None

    async def live(self) -> list[dict[str, Any]]:
        """Calls not yet ended, oldest first."""
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                """SELECT a.id, a.direction, a.state, a.remote_number, c.name AS campaign, d.full_name AS debtor,
                          a.created_at, a.answered_at
                     FROM call_attempts a
                     LEFT JOIN campaigns c ON c.id = a.campaign_id
                     LEFT JOIN debtors d ON d.id = a.debtor_id
                    WHERE a.state <> 'ended' ORDER BY a.created_at""")
            return [_call(r) for r in await cur.fetchall()]

    async def waves(self, since: datetime) -> list[dict[str, Any]]:
        """Each wave planned since `since`: its jobs by state, and what its calls achieved."""
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(WAVES_QUERY, {"since": since})
            return list(await cur.fetchall())

    async def summary(self, since: datetime, now: datetime) -> dict[str, Any]:
        """Calls per hour, contact rate, promise rate, average latency and cost since `since`."""
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(SUMMARY_QUERY, {"since": since})
            totals = await cur.fetchone()
            await cur.execute(
                """SELECT date_trunc('hour', created_at) AS hour, coalesce(outcome, 'in_progress') AS outcome,
                          count(*) AS n
                     FROM call_attempts WHERE created_at >= %s GROUP BY 1, 2 ORDER BY 1""", (since,))
            by_hour: dict[datetime, dict[str, int]] = {}
            for r in await cur.fetchall():
                by_hour.setdefault(r["hour"], {})[r["outcome"]] = r["n"]
        calls, answered = totals["calls"], totals["answered"]
        hours = max((now - since).total_seconds() / 3600, 1 / 60)
        cost: Decimal = totals["cost_total"]
        return {
            "since": since,
            "calls": calls,
            "answered": answered,
            "contact_rate": answered / calls if calls else 0.0,
            "promises": totals["promises"],
            "promise_rate": totals["promises"] / answered if answered else 0.0,
            "avg_voice_to_voice_ms": float(totals["avg_v2v"]) if totals["avg_v2v"] is not None else None,
            "cost_total": float(cost),
            "calls_per_hour": round(calls / hours, 2),
            "by_hour": [{"hour": h, "outcomes": o} for h, o in by_hour.items()],
        }

    async def snapshot(self) -> Snapshot:
        async with self._pool.connection() as conn:
            async def pairs(query: str) -> dict:
                cur = await conn.execute(query)
                return {(tuple(r[:-1]) if len(r) > 2 else r[0]): r[-1] for r in await cur.fetchall()}
            live = await pairs("SELECT direction, count(*) FROM call_attempts WHERE state <> 'ended' GROUP BY 1")
            calls = await pairs(CALLS_BY_OUTCOME_QUERY)
            jobs = await pairs("SELECT state, count(*) FROM call_jobs GROUP BY 1")
            webhooks = await pairs("SELECT status, count(*) FROM webhook_deliveries GROUP BY 1")
            analyses = await pairs("SELECT status, count(*) FROM call_analyses GROUP BY 1")
            cur = await conn.execute(
                "SELECT count(*) FROM call_analyses WHERE needs_human AND closed_at IS NULL AND status = 'done'")
            (ready,) = await cur.fetchone()
            cur = await conn.execute(VOICE_TO_VOICE_HISTOGRAM_QUERY, [b * 1000 for b in VOICE_TO_VOICE_BUCKETS_S])
            *cumulative, count, sum_ms = await cur.fetchone()
        v2v = LatencyHistogram(VOICE_TO_VOICE_BUCKETS_S, tuple(cumulative), count, float(sum_ms) / 1000)
        return Snapshot(live, calls, jobs, webhooks, analyses, ready, v2v)

    async def export_batches(self, f: CallFilter, batch: int = 500) -> AsyncIterator[list[dict[str, Any]]]:
        """Flat rows for CSV/JSON export, one per call with its promise and analysis verdict, in batches
        from a server-side cursor: an export of a month of calls never sits whole in memory, and the
        event loop (which also paces live calls' audio) gets back control between batches."""
        params = {"campaign_id": f.campaign_id, "outcome": f.outcome, "direction": f.direction,
                  "since": f.since, "until": f.until, "limit": f.limit, "offset": f.offset}
        async with self._pool.connection() as conn, conn.transaction():
            cur = conn.cursor("export_calls", row_factory=dict_row)
            await cur.execute(
                EXPORT_QUERY, params)
            while rows := await cur.fetchmany(batch):
                for row in rows:
                    row["remote_number"] = mask_phone(row["remote_number"])
                    row["national_id"] = _mask_id(row["national_id"])
                yield rows


def _masked_turn(turn: dict[str, Any]) -> dict[str, Any]:
    for key in ("user_text", "heard_raw"):  # the recogniser's words before correction may hold a RUT too
        if turn.get(key):
            turn[key] = mask_identifiers_in(turn[key], keyed=turn["turn_rule"] == "dtmf")
    return turn


def _mask_id(value: str | None) -> str | None:
    return mask_national_id(value) if value else value
