"""Post-call analyses in PostgreSQL: the queue, the store, and the ready-for-human queue.

Queue. `campaigns.calls.enqueue_analysis` runs in the transaction that closes an answered call
(`CallLog.close_attempt`), so an answered call is never left without its analysis row. A worker `claim`s rows with FOR UPDATE
SKIP LOCKED and a lease (several processes share the work; the lease of a worker that died runs out
and the row is claimed again), counting each claim in `tries`. `fail` puts a row back with an
exponential backoff, and gives up (`failed`) after `max_tries`.

Store. `save` writes the analysis document (a dict: this module does not know `media`) into its
typed columns and `result`, and emits `call_analyzed` (always) and `sentiment_alert` (see
`sentiment_alert_reasons`) in the same transaction: an analysis and its webhooks commit together
or not at all. A reason the call already alerted for during the call (`analysis.live`, recorded in
`call_attempts.sentiment_alerts`) is not alerted again.

Ready for a human. Analyses with `needs_human` wait for a person, most urgent first (priority, then
the oldest); `close` records what the person did. Phone numbers leave this module masked.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from analysis.record import load_inputs
from campaigns.webhooks.events import call_summary, emit
from countries.privacy import mask_phone

__all__ = ["AnalysisError", "AnalysisJob", "AnalysisLeaseLost", "AnalysisNotFound", "AnalysisStore",
           "sentiment_alert_reasons"]

MAX_PAGE = 500
_MAX_ERROR = 1000  # characters of an error kept on the row


class AnalysisError(ValueError):
    """The analysis is not in a state that allows this (not analysed yet, no person needed, closed)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class AnalysisNotFound(LookupError):
    pass


class AnalysisLeaseLost(RuntimeError):
    """The row is no longer this worker's (its lease ran out and another worker claimed it)."""


def sentiment_alert_reasons(document: Mapping[str, Any]) -> list[str]:
    """Why an analysis raises `sentiment_alert`; empty: it does not. The rule:

    - `negative_and_worsening`: the caller's last turn was negative and the call's trend is
      worsening: it ended badly and worse than it began;
    - `asked_for_human`: the caller asked for a person (or the agent transferred them);
    - `frustrated`: anger, a complaint, insults.

    A call negative throughout but stable raises nothing: a debtor unhappy to be called is the
    ordinary case in collections, and alerting on it would bury the calls that need someone now.
    """
    turns = document.get("turn_sentiments") or []
    final = document.get("final_sentiment") or (turns[-1] if turns else document.get("sentiment"))
    reasons = []
    if final == "negative" and document.get("sentiment_trend") == "worsening":
        reasons.append("negative_and_worsening")
    if document.get("asked_for_human") is True:
        reasons.append("asked_for_human")
    if document.get("frustrated") is True:
        reasons.append("frustrated")
    return reasons


def _columns(document: Mapping[str, Any]) -> dict[str, Any]:
    """The typed columns of a document. The enums are checked by the table's constraints; what they
    cannot check (types, the promise, the priority's range) is checked here."""
    missing = [k for k in ("analyzer", "summary", "sentiment", "sentiment_trend", "interest_level", "next_action",
                           "needs_human", "priority", "classification") if k not in document]
    if missing:
        raise ValueError(f"analysis document lacks {missing}")
    priority = document["priority"]
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 100:
        raise ValueError(f"analysis priority must be an integer 0..100, got {priority!r}")
    if not isinstance(document["needs_human"], bool) or not isinstance(document["classification"], Mapping):
        raise TypeError("analysis needs_human must be a boolean and classification an object")
    promise_date = promise_amount = None
    if (promise := document.get("promise")) is not None:
        try:
            promise_date = date.fromisoformat(promise["date"])
            amount = promise.get("amount")
            promise_amount = None if amount is None else Decimal(str(amount))
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise ValueError(f"analysis promise {promise!r} is not {{date: YYYY-MM-DD, amount}}") from exc
    sales = document.get("sales") or {}
    return {
        "interest_score": sales.get("interest_score"), "key_points": list(sales.get("key_points") or []),
        "objections": list(sales.get("objections") or []),
        "analyzer": str(document["analyzer"]), "summary": str(document["summary"]),
        "sentiment": document["sentiment"], "sentiment_trend": document["sentiment_trend"],
        "interest_level": document["interest_level"], "next_action": document["next_action"],
        "promise_date": promise_date, "promise_amount": promise_amount, "needs_human": document["needs_human"],
        "priority": priority, "classification": Jsonb(dict(document["classification"])),
        "result": Jsonb(dict(document)),
    }


_CLAIM = """
WITH due AS (
    SELECT attempt_id FROM call_analyses
     WHERE ((status = 'pending' AND (lease_until IS NULL OR lease_until <= now()))
            OR (status = 'running' AND lease_until <= now()))
       AND tries < %(max_tries)s
     ORDER BY created_at
     LIMIT %(limit)s
       FOR UPDATE SKIP LOCKED)
UPDATE call_analyses a
   SET status = 'running', tries = a.tries + 1, lease_until = now() + make_interval(secs => %(lease_s)s)
  FROM due WHERE a.attempt_id = due.attempt_id
RETURNING a.attempt_id, a.tries
"""
# A row whose lease ran out on its last try (the worker died each time, perhaps because of this very
# call): given up on, not claimed forever.
_GIVE_UP = """
UPDATE call_analyses SET status = 'failed', lease_until = NULL,
       error = left(coalesce(error || '; ', '') || 'gave up: the analysis did not finish in ' || tries || ' tries', 1000)
 WHERE status IN ('pending', 'running') AND tries >= %(max_tries)s AND (lease_until IS NULL OR lease_until <= now())
"""
_SAVE = """
UPDATE call_analyses
   SET status = 'done', lease_until = NULL, error = NULL, analyzed_at = now(),
       analyzer = %(analyzer)s, summary = %(summary)s, sentiment = %(sentiment)s,
       sentiment_trend = %(sentiment_trend)s, interest_level = %(interest_level)s, next_action = %(next_action)s,
       promise_date = %(promise_date)s, promise_amount = %(promise_amount)s, needs_human = %(needs_human)s,
       priority = %(priority)s, classification = %(classification)s, result = %(result)s,
       interest_score = %(interest_score)s, key_points = %(key_points)s, objections = %(objections)s
 WHERE attempt_id = %(attempt_id)s AND status = 'running' AND (%(tries)s::int IS NULL OR tries = %(tries)s)
RETURNING analyzed_at
"""
_FAIL = """
UPDATE call_analyses
   SET status = CASE WHEN tries >= %(max_tries)s THEN 'failed' ELSE 'pending' END,
       lease_until = CASE WHEN tries >= %(max_tries)s THEN NULL
                          ELSE now() + make_interval(secs => least(%(cap_s)s, %(base_s)s * power(2, tries - 1))) END,
       error = %(error)s
 WHERE attempt_id = %(attempt_id)s AND status = 'running' AND (%(tries)s::int IS NULL OR tries = %(tries)s)
RETURNING status
"""
_QUEUE = """
SELECT an.attempt_id, a.debtor_id, d.full_name AS debtor, a.campaign_id, a.remote_number,
       a.direction, a.outcome, a.result, a.answered_at, an.summary, an.sentiment, an.sentiment_trend,
       an.interest_level, an.next_action, an.promise_date, an.promise_amount, an.priority, an.analyzed_at,
       an.interest_score, an.key_points, an.objections, coalesce(c.kind, 'collection') AS campaign_kind
  FROM call_analyses an
  JOIN call_attempts a ON a.id = an.attempt_id
  LEFT JOIN debtors d ON d.id = a.debtor_id
  LEFT JOIN campaigns c ON c.id = a.campaign_id
 WHERE an.needs_human AND an.closed_at IS NULL AND an.status = 'done'
 ORDER BY an.priority DESC, an.analyzed_at, an.attempt_id
 LIMIT %s OFFSET %s
"""


@dataclass(frozen=True, slots=True)
class AnalysisJob:
    """A claimed analysis: which try this is, and the analyzer's input (see `_input`)."""

    attempt_id: uuid.UUID
    tries: int
    input: dict[str, Any]


class AnalysisStore:
    def __init__(self, pool: AsyncConnectionPool, *, lease_s: float = 300.0, max_tries: int = 5,
                 retry_base_s: float = 30.0, retry_cap_s: float = 3600.0) -> None:
        # The lease covers a slow LLM with its retries (three requests of up to a minute) and the save.
        if lease_s <= 0 or max_tries < 1 or not 0 < retry_base_s <= retry_cap_s:
            raise ValueError("bad analysis queue settings")
        self._pool = pool
        self._lease_s = lease_s
        self.max_tries = max_tries
        self._base_s = retry_base_s
        self._cap_s = retry_cap_s

    # ---------------------------------------------------------------- the queue
    async def claim(self, limit: int = 4) -> list[AnalysisJob]:
        """Up to `limit` due analyses, oldest first, leased to the caller, with their input loaded."""
        async with self._pool.connection() as conn:
            async with conn.transaction():
                await conn.execute(_GIVE_UP, {"max_tries": self.max_tries})
                cur = await conn.execute(_CLAIM, {"limit": limit, "lease_s": self._lease_s,
                                                  "max_tries": self.max_tries})
                claimed = dict(await cur.fetchall())
            if not claimed:
                return []
            inputs = await load_inputs(conn, list(claimed))
        return [AnalysisJob(a, claimed[a], inputs[a]) for a in claimed if a in inputs]

    async def rerun(self, attempt_id: uuid.UUID, *, transcript_version: str = "live") -> AnalysisJob:
        """Claim the call's analysis now, whatever its state, to be done again reading
        `transcript_version` ('live': call_lines; 'offline': its re-processed transcript), with its
        input loaded. Counted as a try like any claim: a worker still holding an older claim of this
        call can no longer save it. A failed re-run goes back to the queue with the same version."""
        if transcript_version not in ("live", "offline"):
            raise ValueError(f"no transcript version {transcript_version!r}")
        async with self._pool.connection() as conn:
            async with conn.transaction():
                cur = await conn.execute(
                    """INSERT INTO call_analyses (attempt_id, status, tries, lease_until, transcript_version)
                       SELECT id, 'running', 1, now() + make_interval(secs => %(lease_s)s), %(version)s
                         FROM call_attempts WHERE id = %(id)s
                       ON CONFLICT (attempt_id) DO UPDATE
                          SET status = 'running', tries = call_analyses.tries + 1, lease_until = EXCLUDED.lease_until,
                              transcript_version = EXCLUDED.transcript_version, error = NULL
                       RETURNING tries""", {"id": attempt_id, "lease_s": self._lease_s, "version": transcript_version})
                row = await cur.fetchone()
            if row is None:
                raise AnalysisNotFound(f"no call {attempt_id}")
            inputs = await load_inputs(conn, [attempt_id])
        return AnalysisJob(attempt_id, row[0], inputs[attempt_id])

    async def save(self, attempt_id: uuid.UUID, document: Mapping[str, Any], *, tries: int | None = None) -> list[str]:
        """Store the analysis and emit its webhooks, in one transaction; the events emitted.

        `tries`: the claim this result belongs to; a result for a lease that ran out and was claimed
        again is refused (`AnalysisLeaseLost`), so two workers never both announce one call.
        """
        columns = _columns(document)
        async with self._pool.connection() as conn, conn.transaction():
            # The call's row lock orders this call's webhooks with any other writer's (see `emit`).
            cur = await conn.execute(
                """SELECT direction, remote_number, debtor_id, campaign_id, job_id, phone_id, outcome, result,
                          sentiment_alerts
                     FROM call_attempts WHERE id = %s FOR UPDATE""", (attempt_id,))
            call = await cur.fetchone()
            cur = await conn.execute(_SAVE, {**columns, "attempt_id": attempt_id, "tries": tries})
            if call is None or await cur.fetchone() is None:
                raise AnalysisLeaseLost(f"analysis of {attempt_id} is not running under this claim")
            direction, remote, debtor_id, campaign_id, job_id, phone_id, outcome, result, alerted = call
            summary = call_summary(attempt_id, direction=direction, remote_number=remote, debtor_id=debtor_id,
                                   campaign_id=campaign_id, job_id=job_id, phone_id=phone_id)
            await emit(conn, "call_analyzed", {"call": summary, "outcome": outcome, "result": result,
                                               "analysis": dict(document)}, call_key=attempt_id)
            events = ["call_analyzed"]
            # Each reason alerts once per call: one raised live (during the call) is not raised again.
            if reasons := [r for r in sentiment_alert_reasons(document) if r not in alerted]:
                await conn.execute("UPDATE call_attempts SET sentiment_alerts = sentiment_alerts || %s::text[] "
                                   "WHERE id = %s", (reasons, attempt_id))
                await emit(conn, "sentiment_alert", {
                    "call": summary, "phase": "post_call", "reasons": reasons, "sentiment": document["sentiment"],
                    "sentiment_trend": document["sentiment_trend"], "summary": document["summary"],
                    "needs_human": document["needs_human"], "priority": document["priority"],
                }, call_key=attempt_id)
                events.append("sentiment_alert")
        return events

    async def fail(self, attempt_id: uuid.UUID, error: str, *, tries: int | None = None) -> str | None:
        """Record a failed try: back to `pending` after a backoff (base, 2x base, ... capped), or
        `failed` once `max_tries` claims have failed. The new status; None if the row was not ours."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(_FAIL, {"attempt_id": attempt_id, "tries": tries, "error": error[:_MAX_ERROR],
                                             "max_tries": self.max_tries, "base_s": self._base_s,
                                             "cap_s": self._cap_s})
            row = await cur.fetchone()
        return row[0] if row else None

    async def requeue(self, attempt_id: uuid.UUID | str) -> dict[str, Any]:
        """A person asks for the call's analysis again (the transcript or the rules changed since): back to
        `pending`, due now, its tries reset, for whichever worker claims next; a call never analysed is
        queued. A case a person closed stays closed. `AnalysisNotFound` for an unknown call."""
        key = _uuid(attempt_id)
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                """INSERT INTO call_analyses (attempt_id) SELECT id FROM call_attempts WHERE id = %s
                   ON CONFLICT (attempt_id) DO UPDATE
                      SET status = 'pending', tries = 0, lease_until = NULL, error = NULL
                   RETURNING attempt_id, status""", (key,))
            row = await cur.fetchone()
        if row is None:
            raise AnalysisNotFound(f"no call {key}")
        return row

    async def get(self, attempt_id: uuid.UUID | str) -> dict[str, Any] | None:
        """The analysis row (every column; `result` is the whole document), or None."""
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute("SELECT * FROM call_analyses WHERE attempt_id = %s", (_uuid(attempt_id),))
            return await cur.fetchone()

    # ---------------------------------------------------------------- ready for a human
    async def ready_for_human(self, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Analysed calls a person should take up and nobody closed yet: highest priority first, then
        the oldest analysis. Each: attempt_id, debtor_id, debtor, campaign_id, remote_number (masked),
        direction, outcome, result, answered_at, summary, sentiment, sentiment_trend, interest_level,
        next_action, promise_date, promise_amount, priority, analyzed_at; and for a sales call's lead
        (campaign_kind 'sales') interest_score 1-5, key_points and objections."""
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            raise ValueError(f"limit must be 1..{MAX_PAGE} and offset 0 or more")
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(_QUEUE, (limit, offset))
            rows = await cur.fetchall()
        for row in rows:
            row["remote_number"] = mask_phone(row["remote_number"]) if row["remote_number"] else None
        return rows

    async def close(self, attempt_id: uuid.UUID | str, *, outcome: str, notes: str = "", by: str = "") -> dict[str, Any]:
        """A person handled it: record what came of it; the closed row.

        `AnalysisNotFound` for an unknown call; `AnalysisError` when it is not analysed yet
        (`not_analysed`), needs no person (`not_for_human`) or was closed before (`already_closed`).
        """
        outcome = outcome.strip()
        if not outcome or len(outcome) > 100:
            raise ValueError("the outcome must be 1 to 100 characters")
        key = _uuid(attempt_id)
        async with self._pool.connection() as conn, conn.transaction():
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute("""SELECT status, needs_human, closed_at, closed_by FROM call_analyses
                                  WHERE attempt_id = %s FOR UPDATE""", (key,))
            row = await cur.fetchone()
            if row is None:
                raise AnalysisNotFound(f"no analysis for call {key}")
            if row["status"] != "done":
                raise AnalysisError("not_analysed", f"call {key} is not analysed yet (status {row['status']})")
            if not row["needs_human"]:
                raise AnalysisError("not_for_human", f"call {key} does not need a person")
            if row["closed_at"] is not None:
                who = f" by {row['closed_by']}" if row["closed_by"] else ""
                raise AnalysisError("already_closed", f"call {key} was closed at {row['closed_at']:%Y-%m-%d %H:%M}{who}")
            await cur.execute(
                """UPDATE call_analyses SET closed_at = now(), closed_outcome = %s, closed_notes = %s, closed_by = %s
                    WHERE attempt_id = %s RETURNING *""", (outcome, notes, by.strip(), key))
            closed = await cur.fetchone()
            # In the call's history too: who took it up and what came of it.
            await conn.execute("INSERT INTO call_events (attempt_id, kind, data) VALUES (%s, 'followup_closed', %s)",
                               (key, Jsonb({"outcome": outcome, "by": by.strip()})))
        assert closed is not None
        return closed


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError as exc:
        raise AnalysisNotFound(f"no analysis for call {value!r}") from exc
