"""EXPLAIN ANALYZE of the queries behind the API's slow reads, and the indexes a what-if run adds."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from campaigns.analyses import _CALLS as _ANALYSIS_CALLS
from campaigns.analyses import _GIVE_UP as _ANALYSIS_GIVE_UP
from campaigns.supervision import _CALL_COLUMNS, _CALL_FROM, _CALL_WHERE, EXPORT_QUERY

WHAT_IF_INDEXES = ("CREATE INDEX bench_call_jobs_wave_idx ON call_jobs (wave_id)",)

# The queries behind the slow reads, as campaigns/supervision.py and campaigns/analyses.py run them
# (the list with no filter: every parameter NULL).
_NO_FILTER = {"campaign_id": None, "outcome": None, "direction": None, "since": None, "until": None,
              "limit": 50, "offset": 0}
EXPLAINS: dict[str, tuple[str, dict[str, Any]]] = {
    "calls list (Supervision.calls, no filter, limit 50)": (
        f"SELECT {_CALL_COLUMNS} {_CALL_FROM} {_CALL_WHERE} ORDER BY a.created_at DESC, a.id DESC "
        + "LIMIT %(limit)s OFFSET %(offset)s", _NO_FILTER),
    "export rows (Supervision.export_batches, no filter, limit 100000)": (
        EXPORT_QUERY, {**_NO_FILTER, "limit": 100_000}),
    "call detail's promise (Supervision.call)": (
        """SELECT promised_date AS date, amount::float8 AS amount, installments, status
             FROM promises WHERE attempt_id = %(id)s ORDER BY id DESC LIMIT 1""", {}),
    "summary totals (Supervision.summary, 24 h)": (
        """SELECT count(*) AS calls, count(*) FILTER (WHERE outcome = 'answered') AS answered,
                  coalesce(sum(cost), 0) AS cost_total,
                  (SELECT count(*) FROM promises p JOIN call_attempts pa ON pa.id = p.attempt_id
                    WHERE pa.created_at >= %(since)s) AS promises,
                  (SELECT avg(t.voice_to_voice_ms) FROM call_turns t JOIN call_attempts ta
                       ON ta.id = t.attempt_id
                    WHERE ta.created_at >= %(since)s AND NOT t.interrupted) AS avg_v2v
             FROM call_attempts WHERE created_at >= %(since)s""", {"since": "24h"}),
    "metrics: calls by direction and outcome (Supervision.snapshot)": (
        """SELECT direction, coalesce(outcome, 'in_progress'), count(*) FROM call_attempts GROUP BY 1, 2""", {}),
    "metrics: last hour's voice-to-voice (Supervision.snapshot)": (
        """SELECT avg(voice_to_voice_ms) FROM call_turns
            WHERE created_at > now() - interval '1 hour' AND NOT interrupted""", {}),
    "live: waves of the last 24 h (Supervision.waves)": (
        """SELECT w.id, w.campaign_id, c.name AS campaign, w.slot, w.local_date AS day, w.planned_at,
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
            GROUP BY w.id, c.name ORDER BY w.planned_at DESC LIMIT 20""", {"since": "24h"}),
    "worker's inputs of 4 calls (analyses._CALLS)": (_ANALYSIS_CALLS, {"ids": "4 answered"}),
    "worker's give-up sweep before each claim (analyses._GIVE_UP; rolled back)": (_ANALYSIS_GIVE_UP, {"max_tries": 5}),
}


async def explain_queries(pool: Any, attempt_id: uuid.UUID, only: Sequence[str] = ()) -> None:
    print("\n-- EXPLAIN (ANALYZE) of the queries behind those reads --")
    since = datetime.now().astimezone() - timedelta(hours=24)
    async with pool.connection() as conn, conn.transaction(force_rollback=True):  # _GIVE_UP is an UPDATE
        cur = await conn.execute("SELECT id FROM call_attempts WHERE outcome = 'answered' LIMIT 4")
        four = [r[0] for r in await cur.fetchall()]
        for label, (query, params) in EXPLAINS.items():
            if only and not any(label.startswith(o) for o in only):
                continue
            values = {**params, "id": attempt_id}
            values.update({k: since for k, v in params.items() if v == "24h"})
            values.update({k: four for k, v in params.items() if v == "4 answered"})
            positional = (four,) if "%s" in query else None  # analyses._CALLS: WHERE a.id = ANY(%s)
            cur = await conn.execute("EXPLAIN (ANALYZE, COSTS OFF) " + query, positional or values)
            print(f"[{label}]")
            for (line,) in await cur.fetchall():
                print("   " + line)
