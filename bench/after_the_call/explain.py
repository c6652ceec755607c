"""EXPLAIN ANALYZE of the queries behind the API's slow reads, and the indexes a what-if run adds."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from analysis.store import _CALLS as _ANALYSIS_CALLS
from analysis.store import _GIVE_UP as _ANALYSIS_GIVE_UP
from campaigns.supervision import (
    _CALL_COLUMNS,
    _CALL_FROM,
    _CALL_WHERE,
    CALLS_BY_OUTCOME_QUERY,
    EXPORT_QUERY,
    PROMISE_QUERY,
    RECENT_VOICE_TO_VOICE_QUERY,
    SUMMARY_QUERY,
    WAVES_QUERY,
)

WHAT_IF_INDEXES = ("CREATE INDEX bench_call_jobs_wave_idx ON call_jobs (wave_id)",)

# The queries behind the slow reads, as campaigns/supervision.py and analysis/store.py run them
# (the list with no filter: every parameter NULL).
_NO_FILTER = {"campaign_id": None, "outcome": None, "direction": None, "since": None, "until": None,
              "limit": 50, "offset": 0}
EXPLAINS: dict[str, tuple[str, dict[str, Any]]] = {
    "calls list (Supervision.calls, no filter, limit 50)": (
        f"SELECT {_CALL_COLUMNS} {_CALL_FROM} {_CALL_WHERE} ORDER BY a.created_at DESC, a.id DESC "
        + "LIMIT %(limit)s OFFSET %(offset)s", _NO_FILTER),
    "export rows (Supervision.export_batches, no filter, limit 100000)": (
        EXPORT_QUERY, {**_NO_FILTER, "limit": 100_000}),
    "call detail's promise (Supervision.call)": (PROMISE_QUERY, {}),
    "summary totals (Supervision.summary, 24 h)": (SUMMARY_QUERY, {"since": "24h"}),
    "metrics: calls by direction and outcome (Supervision.snapshot)": (CALLS_BY_OUTCOME_QUERY, {}),
    "metrics: last hour's voice-to-voice (Supervision.snapshot)": (RECENT_VOICE_TO_VOICE_QUERY, {}),
    "live: waves of the last 24 h (Supervision.waves)": (WAVES_QUERY, {"since": "24h"}),
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
