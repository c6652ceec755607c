"""An analyzer's input read from the record: the call's facts and its transcript (`analysis.inputs`).

What `AnalysisStore.claim` and `rerun` load for each claimed call: the outcome and the result the agent's
tools set, the promise a tool stored, the debtor, the job's purpose, a sales call's recorded lead (its
`lead_qualified` event), the moment and zone relative dates were said in, and the lines of the
transcript version the analysis is asked to read.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

__all__ = ["load_inputs"]


_CALLS = """
SELECT a.id, a.direction, a.outcome, a.result, coalesce(a.answered_at, a.created_at) AS call_at,
       coalesce(d.timezone, c.timezone, 'America/Santiago') AS timezone, a.debtor_id, a.campaign_id,
       d.full_name AS debtor_name, coalesce(d.delinquency_type, '') AS delinquency_type, d.amount_owed,
       p.promised_date, p.amount AS promised_amount, lead.data AS lead,
       CASE WHEN d.kind = 'lead' THEN 'sales' ELSE coalesce(j.purpose, 'collection') END AS purpose
  FROM call_attempts a
  LEFT JOIN call_jobs j ON j.id = a.job_id
  LEFT JOIN LATERAL (SELECT data FROM call_events
                      WHERE attempt_id = a.id AND kind = 'lead_qualified' ORDER BY id DESC LIMIT 1) lead ON true
  LEFT JOIN debtors d ON d.id = a.debtor_id
  LEFT JOIN campaigns c ON c.id = a.campaign_id
  LEFT JOIN LATERAL (SELECT promised_date, amount FROM promises
                      WHERE attempt_id = a.id AND status <> 'cancelled' ORDER BY id DESC LIMIT 1) p ON true
 WHERE a.id = ANY(%s)
"""


async def load_inputs(conn: AsyncConnection[Any], ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """Each call's analyzer input: its facts (outcome, result, the promise it registered, debtor and
    campaign, the moment and zone relative dates were said in) and its transcript.

    The transcript is `call_lines` (every line heard, the agent's included); a call recorded before
    those existed has only `call_turns`, read as each turn's caller text then the agent's spoken answer.
    """
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(_CALLS, (ids,))
    calls = {row.pop("id"): row for row in await cur.fetchall()}
    lines: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    await cur.execute("""SELECT attempt_id, speaker, text, start_ms FROM call_lines WHERE attempt_id = ANY(%s)
                          ORDER BY attempt_id, start_ms, id""", (ids,))
    for row in await cur.fetchall():
        lines[row.pop("attempt_id")].append(row)
    source = {a: "call_lines" for a in lines}
    if without := [a for a in calls if a not in lines]:
        await cur.execute("""SELECT attempt_id, user_text, agent_spoken FROM call_turns WHERE attempt_id = ANY(%s)
                              ORDER BY attempt_id, idx""", (without,))
        for row in await cur.fetchall():
            said = lines[row["attempt_id"]]
            said += [{"speaker": "caller", "text": row["user_text"], "start_ms": None}] if row["user_text"] else []
            said += [{"speaker": "agent", "text": row["agent_spoken"], "start_ms": None}] if row["agent_spoken"] else []
            source.setdefault(row["attempt_id"], "call_turns")
    # A call re-processed offline (ari_app.reprocess) whose analysis was asked to read that version.
    await cur.execute("""SELECT v.attempt_id, v.lines FROM call_analyses an
                           JOIN call_transcript_versions v ON v.attempt_id = an.attempt_id AND v.version = 'offline'
                          WHERE an.attempt_id = ANY(%s) AND an.transcript_version = 'offline'""", (ids,))
    version = {}
    for row in await cur.fetchall():
        lines[row["attempt_id"]] = [{"speaker": line["speaker"], "text": line["text"], "start_ms": line.get("start_ms")}
                                    for line in row["lines"] if line.get("text")]
        source[row["attempt_id"]] = "call_transcript_versions"
        version[row["attempt_id"]] = "offline"
    inputs = {}
    for attempt_id, call in calls.items():
        promised_date, promised_amount = call.pop("promised_date"), call.pop("promised_amount")
        inputs[attempt_id] = {
            **call, "attempt_id": attempt_id, "lines": lines.get(attempt_id, []),
            "transcript_source": source.get(attempt_id, "none"),
            "transcript_version": version.get(attempt_id, "live"),
            "promise": None if promised_date is None else {"date": promised_date, "amount": promised_amount},
        }
    return inputs
