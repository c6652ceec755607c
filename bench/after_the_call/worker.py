"""Part 2: the analysis worker end to end on PostgreSQL, timed claim by claim and save by save."""

from __future__ import annotations

import asyncio
import math
import random
import statistics
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from analysis import AnalysisInput, CallAnalysis, RuleAnalyzer, load_classification
from analysis.store import _CLAIM as _ANALYSIS_CLAIM
from analysis.store import _GIVE_UP as _ANALYSIS_GIVE_UP
from analysis.store import AnalysisStore
from analysis.worker import AnalysisWorker
from bench.after_the_call.common import SANTIAGO, ms, pct
from bench.after_the_call.transcripts import Transcript, make_transcript
from campaigns.calls import CallLog, CallOutcome, Direction
from campaigns.db import open_database


class TimedStore(AnalysisStore):
    """The store, timing each claim (with its inputs' load) and each save (with its webhooks)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.claims: list[float] = []
        self.saves: list[float] = []

    async def claim(self, limit: int = 4) -> list[Any]:
        t0 = time.perf_counter()
        jobs = await super().claim(limit)
        self.claims.append(time.perf_counter() - t0)
        return jobs

    async def save(self, *args: Any, **kwargs: Any) -> list[str]:
        t0 = time.perf_counter()
        events = await super().save(*args, **kwargs)
        self.saves.append(time.perf_counter() - t0)
        return events


class TimedRules:
    """Wraps the worker's RuleAnalyzer to time `analyze` in its thread."""

    def __init__(self, rules: RuleAnalyzer) -> None:
        self._rules = rules
        self.times: list[float] = []

    def analyze(self, inp: AnalysisInput) -> CallAnalysis:
        t0 = time.perf_counter()
        result = self._rules.analyze(inp)
        self.times.append(time.perf_counter() - t0)
        return result


async def _seed_debtors(pool: Any, n: int, prefix: str) -> tuple[int, list[tuple[int, int, str, str]]]:
    """A company, a campaign, `n` debtors with one phone each: (campaign id, [(debtor, phone, e164, type)])."""
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute("INSERT INTO companies (name) VALUES (%s) RETURNING id", (f"{prefix} Cobranzas",))
        (company_id,) = await cur.fetchone()
        cur = await conn.execute("INSERT INTO campaigns (company_id, name, status) VALUES (%s, %s, 'active') "
                                 "RETURNING id", (company_id, f"{prefix} temprana"))
        (campaign_id,) = await cur.fetchone()
        await conn.execute(
            """INSERT INTO debtors (company_id, national_id, full_name, delinquency_type, amount_owed, due_date)
               SELECT %s, (10000000 + g) || '-' || (g %% 10), 'Deudor ' || g,
                      (ARRAY['temprana', 'tardia', 'prejudicial'])[1 + g %% 3], 1000 * (30 + g %% 870),
                      current_date - (g %% 120)
                 FROM generate_series(1, %s) g""", (company_id, n))
        await conn.execute(
            """INSERT INTO phones (debtor_id, e164)
               SELECT id, '+5699' || lpad(id::text, 7, '0') FROM debtors WHERE company_id = %s""", (company_id,))
        cur = await conn.execute(
            """SELECT d.id, p.id, p.e164, d.delinquency_type FROM debtors d JOIN phones p ON p.debtor_id = d.id
                WHERE d.company_id = %s ORDER BY d.id""", (company_id,))
        return campaign_id, list(await cur.fetchall())


async def _vacuum(url: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("VACUUM ANALYZE")


async def explain_claim(pool: Any, batch: int, when: str) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of one claim's two statements, rolled back."""
    print(f"  -- EXPLAIN (ANALYZE, BUFFERS) of AnalysisStore.claim's statements, {batch} at a time, {when} "
          "(rolled back) --")
    async with pool.connection() as conn, conn.transaction(force_rollback=True):
        for label, query, params in (
                ("analyses._GIVE_UP", _ANALYSIS_GIVE_UP, {"max_tries": 5}),
                ("analyses._CLAIM", _ANALYSIS_CLAIM, {"limit": batch, "lease_s": 300.0, "max_tries": 5})):
            cur = await conn.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + query, params)
            print(f"  [{label}]")
            for (line,) in await cur.fetchall():
                print("     " + line)


async def bench_worker(url: str, n: int, batch_sizes: Sequence[int], seed: int, seed_concurrency: int,
                       explain: bool) -> bool:
    rnd = random.Random(seed)
    ok = True
    async with open_database(url) as pool:
        campaign_id, debtors = await _seed_debtors(pool, n, "Bench worker")
        log = CallLog(pool)
        today = datetime.now(SANTIAGO).date()
        calls = [(debtors[i], make_transcript(rnd, today)) for i in range(n)]
        gate = asyncio.Semaphore(seed_concurrency)

        async def one(debtor: tuple[int, int, str, str], t: Transcript) -> None:
            debtor_id, phone_id, e164, _ = debtor
            attempt = uuid.uuid4()
            async with gate:
                await log.open_attempt(attempt_id=attempt, direction=Direction.OUTBOUND,
                                       channel_id=f"bench-{attempt}", remote_number=e164, campaign_id=campaign_id,
                                       debtor_id=debtor_id, phone_id=phone_id)
                await log.mark_answered(attempt)
                async with pool.connection() as conn, conn.transaction():
                    async with conn.cursor() as cur:
                        await cur.executemany(
                            """INSERT INTO call_lines (attempt_id, speaker, text, start_ms, end_ms, source)
                               VALUES (%s, %s, %s, %s, %s, %s)""",
                            [(attempt, s, text, i * 3000, i * 3000 + 2500, "stt" if s == "caller" else "tts")
                             for i, (s, text) in enumerate(t.lines)])
                    if t.result:
                        await conn.execute("UPDATE call_attempts SET result = %s WHERE id = %s", (t.result, attempt))
                    if t.promise:
                        await conn.execute(
                            """INSERT INTO promises (attempt_id, debtor_id, campaign_id, promised_date, amount)
                               VALUES (%s, %s, %s, %s, %s)""", (attempt, debtor_id, campaign_id, *t.promise))
                await log.close_attempt(attempt, outcome=CallOutcome.ANSWERED, hangup_cause=16,
                                        hangup_cause_txt="Normal Clearing")

        t0 = time.perf_counter()
        await asyncio.gather(*(one(d, t) for d, t in calls))
        seeded = time.perf_counter() - t0
        await _vacuum(url)
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT count(*) FROM call_analyses WHERE status = 'pending'")
            (queued,) = await cur.fetchone()
        lines = sum(len(t.lines) for _, t in calls)
        print("\n== 2. analysis worker end to end on PostgreSQL (AnalysisWorker + AnalysisStore, rules) ==")
        print(f"seeded {n} answered calls through CallLog ({lines} call_lines, "
              f"{sum(t.promise is not None for _, t in calls)} registered promises) in {seeded:.1f} s "
              f"({n / seeded:.0f} calls/s, {seed_concurrency} at a time); {queued} analyses queued by close_attempt")
        scheme = load_classification()
        for batch in batch_sizes:
            if batch != batch_sizes[0]:  # run again over the same calls
                async with pool.connection() as conn:
                    await conn.execute("UPDATE call_analyses SET status = 'pending', tries = 0, lease_until = NULL, "
                                       "analyzed_at = NULL")
                await _vacuum(url)
            if explain:
                await explain_claim(pool, batch, "the whole backlog queued")
            store = TimedStore(pool)
            async with AnalysisWorker(store, scheme, batch_size=batch) as worker:
                rules = TimedRules(worker.rules)
                worker.rules = rules  # type: ignore[assignment]
                rounds, paused, halfway = 0, 0.0, math.ceil(n / batch) // 2
                t0 = time.perf_counter()
                while await worker.run_once():
                    rounds += 1
                    if explain and rounds == halfway:  # off the clock
                        t_pause = time.perf_counter()
                        await explain_claim(pool, batch, f"halfway through the drain ({rounds} rounds done)")
                        paused += time.perf_counter() - t_pause
                elapsed = time.perf_counter() - t0 - paused
            async with pool.connection() as conn:
                cur = await conn.execute("SELECT status, count(*) FROM call_analyses GROUP BY 1 ORDER BY 1")
                statuses = dict(await cur.fetchall())
                cur = await conn.execute(
                    """SELECT count(*) FILTER (WHERE analyzer = 'rules' AND result->>'transcript_source' = 'call_lines'),
                              count(*) FILTER (WHERE needs_human), count(*) FILTER (WHERE promise_date IS NOT NULL)
                         FROM call_analyses WHERE status = 'done'""")
                by_rules, human, promises = await cur.fetchone()
                cur = await conn.execute("SELECT event, count(*) FROM webhook_outbox WHERE event IN "
                                         "('call_analyzed', 'sentiment_alert') GROUP BY 1 ORDER BY 1")
                events = dict(await cur.fetchall())
            done = statuses.get("done", 0)
            good = done == n and statuses == {"done": n} and by_rules == n
            ok = ok and good
            print(f"worker batch_size {batch}: {done} calls in {elapsed:.2f} s = {done / elapsed:.0f} calls analysed/s "
                  f"({rounds} run_once rounds)")
            print(f"  per claim (lease + load inputs of {batch}): median {ms(statistics.median(store.claims))} ms, "
                  f"p95 {ms(pct(store.claims, 95))} ms; per save (document + webhooks): median "
                  f"{ms(statistics.median(store.saves))} ms, p95 {ms(pct(store.saves, 95))} ms; "
                  f"rules per call in the worker's thread: median {ms(statistics.median(rules.times))} ms")
            k = len(store.claims)
            quarters = [store.claims[i * k // 4:(i + 1) * k // 4] for i in range(4)]
            print("  claim median by quarter of the drain (first to last): "
                  + ", ".join(f"{ms(statistics.median(q))}" for q in quarters if q) + " ms")
            print(f"  check: {'ok' if good else 'FAIL'} — statuses {statuses}, read from call_lines by the rules "
                  f"{by_rules}/{n}; needs_human {human}, promise {promises}; outbox so far {events}")
    return ok
