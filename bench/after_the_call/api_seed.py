"""Part 3's data: M calls over the last days (transcripts, turns, promises, analyses, waves and jobs,
a few live calls), bulk-loaded with COPY."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from analysis import RuleAnalyzer, load_classification
from bench.after_the_call.common import SANTIAGO
from bench.after_the_call.transcripts import analysis_input, make_transcript

OUTCOMES = (("answered", 36), ("no_answer", 30), ("busy", 9), ("voicemail", 12), ("failed", 5), ("congestion", 2),
            ("invalid_number", 3), ("silent", 3))
CAUSES = {"answered": (16, "Normal Clearing"), "no_answer": (19, "No answer"), "busy": (17, "User busy"),
          "voicemail": (16, "Normal Clearing"), "failed": (38, "Network out of order"),
          "congestion": (34, "Circuit/channel congestion"), "invalid_number": (1, "Unallocated number"),
          "silent": (16, "Normal Clearing")}


def _copy(conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def seed_api(url: str, m: int, days: float, seed: int, analysed_share: float) -> dict[str, Any]:
    """M calls over the last `days` days, bulk-loaded; what the API bench needs to know of them."""
    rnd = random.Random(seed)
    analyzer = RuleAnalyzer(load_classification())
    now = datetime.now().astimezone()
    debtors_n = max(1, m // 2)
    with psycopg.connect(url, autocommit=True) as conn:
        (company_id,) = conn.execute("INSERT INTO companies (name) VALUES ('Bench API Cobranzas') RETURNING id").fetchone()
        campaign_ids = [conn.execute("INSERT INTO campaigns (company_id, name, status) VALUES (%s, %s, 'active') "
                                     "RETURNING id", (company_id, f"Bench API {kind}")).fetchone()[0]
                        for kind in ("temprana", "tardia", "prejudicial")]
        conn.execute(
            """INSERT INTO debtors (company_id, national_id, full_name, delinquency_type, amount_owed, due_date)
               SELECT %s, (10000000 + g) || '-' || (g %% 10), 'Deudor ' || g,
                      (ARRAY['temprana', 'tardia', 'prejudicial'])[1 + g %% 3], 1000 * (30 + g %% 870),
                      current_date - (g %% 120)
                 FROM generate_series(1, %s) g""", (company_id, debtors_n))
        conn.execute("INSERT INTO phones (debtor_id, e164) SELECT id, '+5699' || lpad(id::text, 7, '0') FROM debtors")
        debtors = conn.execute("""SELECT d.id, p.id, p.e164, d.delinquency_type FROM debtors d
                                    JOIN phones p ON p.debtor_id = d.id ORDER BY d.id""").fetchall()
        # One wave per campaign and day (09:00 Santiago, roughly), its jobs one per call placed that day.
        first_day = (now - timedelta(days=days)).date()
        wave_ids: dict[tuple[int, date], int] = {}
        day = first_day
        while day <= now.date():
            for c in campaign_ids:
                planned = datetime.combine(day, datetime.min.time(), tzinfo=now.tzinfo) + timedelta(hours=9)
                wave_ids[(c, day)] = conn.execute(
                    "INSERT INTO waves (campaign_id, local_date, slot, planned_at, enqueued) VALUES (%s, %s, '09:00', "
                    "%s, 0) RETURNING id", (c, day, min(planned, now - timedelta(minutes=30)))).fetchone()[0]
            day += timedelta(days=1)
        (job_base,) = conn.execute("SELECT coalesce(max(id), 0) FROM call_jobs").fetchone()

        attempts, jobs, lines, turns, promises, analyses = [], [], [], [], [], []
        answered_ids: list[uuid.UUID] = []
        outcome_names = [o for o, _ in OUTCOMES]
        outcome_weights = [w for _, w in OUTCOMES]
        span = days * 86400
        for i in range(m):
            debtor_id, phone_id, e164, kind = debtors[i % debtors_n]
            campaign_id = campaign_ids[debtor_id % 3]
            created = now - timedelta(seconds=rnd.random() * span + 120)
            outcome = rnd.choices(outcome_names, weights=outcome_weights)[0]
            attempt = uuid.uuid4()
            job_id = job_base + i + 1
            wave = wave_ids.get((campaign_id, created.date()))
            jobs.append((job_id, campaign_id, debtor_id, "done", created, 1, phone_id, "trunk", wave, outcome))
            cause, cause_txt = CAUSES[outcome]
            answered_at = ended_at = None
            result = cost = recording = recording_ms = None
            usage: dict[str, Any] = {}
            if outcome in ("answered", "voicemail", "silent"):
                answered_at = created + timedelta(seconds=rnd.uniform(4, 25))
                talk = rnd.uniform(20, 300) if outcome == "answered" else rnd.uniform(5, 40)
                ended_at = answered_at + timedelta(seconds=talk)
                cost = Decimal(f"{talk * 0.9 + rnd.uniform(2, 20):.4f}")
                recording, recording_ms = f"{answered_at:%Y/%m/%d}/{attempt}.wav", int(talk * 1000)
                usage = {"answered_s": round(talk, 1), "stt_audio_s": round(talk * 0.45, 1),
                         "tts_chars": int(talk * 9), "llm_requests": int(talk / 12), "llm_tokens": int(talk * 40)}
            else:
                ended_at = created + timedelta(seconds=rnd.uniform(3, 45))
            if outcome == "answered":
                t = make_transcript(rnd, answered_at.astimezone(SANTIAGO).date())
                result = t.result
                answered_ids.append(attempt)
                caller_i = 0
                for j, (speaker, text) in enumerate(t.lines):
                    start = j * 3500 + rnd.randrange(0, 800)
                    lines.append((attempt, speaker, text, start, start + 2500, "stt" if speaker == "caller" else "tts",
                                  False))
                    if speaker == "caller":
                        agent = t.lines[j + 1][1] if j + 1 < len(t.lines) else ""
                        v2v = rnd.gauss(650, 120)
                        turns.append((attempt, caller_i, text, round(rnd.uniform(0.6, 0.98), 3), v2v - 60,
                                      v2v - 40, v2v - 25, v2v, v2v, agent, agent, False, "vad",
                                      answered_at + timedelta(milliseconds=start + 2500)))
                        caller_i += 1
                if t.promise is not None:
                    promise_date, amount = t.promise
                elif result == "promise":  # the agent's tool stores the promise with the result
                    promise_date = answered_at.date() + timedelta(days=rnd.randrange(1, 30))
                    amount = Decimal(rnd.randrange(10, 200) * 1000)
                else:
                    promise_date = None
                if promise_date is not None:
                    promises.append((attempt, debtor_id, campaign_id, job_id, promise_date, amount, created))
                if rnd.random() < analysed_share:  # the rest still queued: the worker is behind
                    a = analyzer.analyze(analysis_input(t, answered_at.astimezone(SANTIAGO), kind))
                    doc = {**a.as_document(), "transcript_source": "call_lines"}
                    pr = doc.get("promise")
                    analyses.append((attempt, "done", 1, a.analyzer, a.summary, doc["sentiment"],
                                     doc["sentiment_trend"], doc["interest_level"], doc["next_action"],
                                     pr and pr["date"], pr and pr.get("amount"), a.needs_human, a.priority,
                                     Jsonb(doc["classification"]), Jsonb(doc), ended_at, ended_at + timedelta(seconds=3)))
                else:
                    analyses.append((attempt, "pending", 0, "", "", None, None, None, None, None, None, False, 0,
                                     Jsonb({}), Jsonb({}), ended_at, None))
            attempts.append((attempt, "outbound", job_id, campaign_id, debtor_id, phone_id, f"bench-{attempt}", e164,
                             "ended", outcome, cause, cause_txt, "ANSWER" if answered_at else "NOANSWER",
                             created, answered_at, ended_at, result, recording, recording_ms, Jsonb(usage), cost,
                             Jsonb({"currency": "CLP"} if cost is not None else {})))
        # A few calls up now.
        live = []
        for k in range(6):
            debtor_id, phone_id, e164, _ = debtors[k]
            created = now - timedelta(seconds=30 + 20 * k)
            live.append((uuid.uuid4(), "outbound", None, campaign_ids[debtor_id % 3], debtor_id, phone_id,
                         f"bench-live-{k}", e164, "answered" if k % 2 else "dialing", None, None, None, None,
                         created, created + timedelta(seconds=6) if k % 2 else None, None, None, None, None,
                         Jsonb({}), None, Jsonb({})))

        t0 = time.perf_counter()
        # call_jobs.id is GENERATED ALWAYS: COPY cannot set it, so load through a staging table.
        with conn.transaction():
            conn.execute("CREATE TEMP TABLE jobs_in (LIKE call_jobs INCLUDING DEFAULTS) ON COMMIT DROP")
            _copy(conn, "jobs_in", ("id", "campaign_id", "debtor_id", "state", "next_at", "attempts", "last_phone_id",
                                    "trunk", "wave_id", "last_outcome"), jobs)
            conn.execute("INSERT INTO call_jobs OVERRIDING SYSTEM VALUE SELECT * FROM jobs_in")
            conn.execute("SELECT setval(pg_get_serial_sequence('call_jobs', 'id'), (SELECT max(id) FROM call_jobs))")
            conn.execute("""UPDATE waves w SET enqueued = j.n FROM (SELECT wave_id, count(*) n FROM call_jobs
                             GROUP BY 1) j WHERE j.wave_id = w.id""")
            columns = ("id", "direction", "job_id", "campaign_id", "debtor_id", "phone_id", "channel_id",
                       "remote_number", "state", "outcome", "hangup_cause", "hangup_cause_txt", "dial_status",
                       "created_at", "answered_at", "ended_at", "result", "recording_path", "recording_ms", "usage",
                       "cost", "cost_detail")
            _copy(conn, "call_attempts", columns, attempts + live)
            _copy(conn, "call_lines", ("attempt_id", "speaker", "text", "start_ms", "end_ms", "source", "interrupted"),
                  lines)
            _copy(conn, "call_turns", ("attempt_id", "idx", "user_text", "confidence", "stt_final_ms",
                                       "agent_first_output_ms", "tts_first_audio_ms", "first_rtp_out_ms",
                                       "voice_to_voice_ms", "agent_planned", "agent_spoken", "interrupted",
                                       "turn_rule", "created_at"), turns)
            _copy(conn, "promises", ("attempt_id", "debtor_id", "campaign_id", "job_id", "promised_date", "amount",
                                     "created_at"), promises)
            _copy(conn, "call_analyses", ("attempt_id", "status", "tries", "analyzer", "summary", "sentiment",
                                          "sentiment_trend", "interest_level", "next_action", "promise_date",
                                          "promise_amount", "needs_human", "priority", "classification", "result",
                                          "created_at", "analyzed_at"), analyses)
        conn.execute("VACUUM ANALYZE")
        loaded = time.perf_counter() - t0
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("call_attempts", "call_lines", "call_turns", "promises", "call_analyses", "call_jobs",
                            "waves")}
    return {"answered_ids": answered_ids, "counts": counts, "loaded_s": loaded,
            "in_24h": sum(1 for a in attempts if a[13] >= now - timedelta(hours=24))}
