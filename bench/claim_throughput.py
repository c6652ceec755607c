"""Benchmark: call-queue claim throughput with 1, 4 and 8 concurrent claimer processes.

N queued jobs (one per debtor, one campaign, one trunk, all due) are drained by K claimer
processes (multiprocessing spawn, each with its own connection pool of one connection) that
loop as a dialer does, without the call: `CallQueue.claim(trunk, cap=.., limit=B)`, then
`finish(conn, job, DONE)` per job, each in its own transaction. Every (K, B) run refills the
queue, starts the claimers together and stops the clock when the last one finds the queue
empty, or when `--max-run-s` has passed (so that the whole bench stays around two minutes;
the rate is then over the jobs done, and the row says "cut"). Each run then checks that every
job was claimed exactly once: `claims` is 1 on every job done, done + still queued = N, and no
two claimers reported the same job.

Prints one row per (claimers, batch): jobs/s and the check. Target: >= 2,000 jobs/s with 8
claimers. A dialer claims as many jobs as it has free channels, so batch 10 is the realistic
row; batch 1 shows the cost per round trip. Needs only PostgreSQL (a scratch database).
Run: `python -m bench.claim_throughput` (`--jobs 20000 --claimers 1,4,8 --batches 1,10 --max-run-s 10`).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import time
from collections import Counter
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

import psycopg

from ari_app.settings import Settings
from campaigns.campaign import CampaignSpec, CampaignStore
from campaigns.db import open_database
from campaigns.queue import CallQueue, JobState
from tests.scratch_db import scratch_database

TRUNK = "bench-trunk"
CAP = 1_000_000  # far above any batch: the bench measures the queue, not the channel cap

def _seed(url: str, jobs: int) -> int:
    """Schema, one company and campaign, `jobs` debtors; the campaign's id."""

    async def migrate_and_create() -> int:
        async with open_database(url, max_size=1) as pool:
            campaign = await CampaignStore(pool).create(CampaignSpec(
                name="bench claim throughput", company="Bench Co", trunk=TRUNK))
            return campaign.id

    campaign_id = asyncio.run(migrate_and_create())
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO debtors (company_id, national_id, full_name, delinquency_type)
               SELECT c.company_id, 'B' || g, 'Deudor ' || g, 'temprana'
                 FROM generate_series(1, %s) g, campaigns c WHERE c.id = %s""", (jobs, campaign_id))
        conn.execute("ANALYZE debtors")
    return campaign_id


def _refill(url: str, campaign_id: int) -> int:
    """An empty queue, then one queued job per debtor, all due; how many."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE call_jobs CASCADE")
        cur = conn.execute(
            """INSERT INTO call_jobs (campaign_id, debtor_id, trunk, next_at)
               SELECT %s, d.id, %s, now() - interval '1 minute' FROM debtors d ORDER BY d.id""",
            (campaign_id, TRUNK))
        n = cur.rowcount
        conn.execute("VACUUM ANALYZE call_jobs")
    return n


def _claimer(url: str, batch: int, max_s: float, ready: Queue, go: Event, results: Queue) -> None:
    """One dialer process: claim `batch`, finish each, until the queue is empty (or `max_s` has passed)."""

    async def loop() -> tuple[list[int], float]:
        async with open_database(url, max_size=1, migrate=False) as pool:
            queue = CallQueue(pool, f"bench-{mp.current_process().pid}", lease_s=300)
            async with pool.connection() as conn:  # the connection is up before the clock starts
                await conn.execute("SELECT 1")
            ready.put(True)
            await asyncio.get_running_loop().run_in_executor(None, go.wait)
            stop_at = time.monotonic() + max_s
            claimed: list[int] = []
            while time.monotonic() < stop_at and (jobs := await queue.claim(TRUNK, cap=CAP, limit=batch)):
                for job in jobs:
                    claimed.append(job.id)
                    async with pool.connection() as conn, conn.transaction():
                        await queue.finish(conn, job.id, JobState.DONE, "bench")
            return claimed, time.monotonic()

    claimed, ended = asyncio.run(loop())
    results.put((claimed, ended))


def run_once(url: str, campaign_id: int, claimers: int, batch: int, max_s: float) -> dict[str, Any]:
    n = _refill(url, campaign_id)
    ctx = mp.get_context("spawn")
    ready: Queue = ctx.Queue()
    results: Queue = ctx.Queue()
    go = ctx.Event()
    procs = [ctx.Process(target=_claimer, args=(url, batch, max_s, ready, go, results), daemon=True)
             for _ in range(claimers)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=60)
    started = time.monotonic()
    go.set()
    outcomes = [results.get(timeout=max_s + 120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    elapsed = max(ended for _, ended in outcomes) - started
    reported = Counter(job for claimed, _ in outcomes for job in claimed)
    with psycopg.connect(url) as conn:
        total, done, queued, once, max_claims = conn.execute(
            """SELECT count(*), count(*) FILTER (WHERE state = 'done'), count(*) FILTER (WHERE state = 'queued'),
                      count(*) FILTER (WHERE claims = 1), max(claims)
                 FROM call_jobs WHERE trunk = %s""", (TRUNK,)).fetchone()
    twice = sum(1 for c in reported.values() if c > 1)
    # Exactly once: every job claimed is done with claims = 1, reported by one claimer only, and
    # (unless the run was cut at max_s) the queue is empty.
    drained = queued == 0
    ok = (total == n and done + queued == n and once == done and len(reported) == done and twice == 0
          and (max_claims or 0) <= 1)
    check = ("ok" if ok else "FAIL") + f" (done {done}/{n}, claims=1 {once}, max claims {max_claims}, " \
                                       f"reported twice {twice}" + ("" if drained else f", cut at {max_s:.0f}s") + ")"
    return {"claimers": claimers, "batch": batch, "jobs": done, "seconds": elapsed,
            "rate": done / elapsed, "check": check, "ok": ok}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--claimers", default="1,4,8", help="comma-separated claimer process counts")
    parser.add_argument("--batches", default="1,10", help="comma-separated claim limits")
    parser.add_argument("--max-run-s", type=float, default=10.0,
                        help="stop a run's claimers after this long (the rate is then over the jobs done)")
    args = parser.parse_args()
    claimer_counts = [int(x) for x in args.claimers.split(",")]
    batches = [int(x) for x in args.batches.split(",")]
    rows = []
    with scratch_database(Settings().database_url.get_secret_value(), "bench_claims") as url:
        campaign_id = _seed(url, args.jobs)
        print(f"claim throughput: {args.jobs} queued jobs per run, one trunk; per job a claim, then finish(DONE) "
              f"in its own transaction; each run stops when the queue is empty or after {args.max_run_s:.0f}s")
        print(f"{'claimers':>9}{'batch':>7}{'jobs':>7}{'seconds':>9}{'jobs/s':>9}  check")
        for batch in batches:
            for claimers in claimer_counts:
                row = run_once(url, campaign_id, claimers, batch, args.max_run_s)
                rows.append(row)
                print(f"{claimers:>9}{batch:>7}{row['jobs']:>7}{row['seconds']:>9.2f}"
                      f"{row['rate']:>9.0f}  {row['check']}", flush=True)
    for r in rows:
        if r["claimers"] == 8:
            verdict = "meets" if r["rate"] >= 2000 else "MISSES"
            print(f"target >= 2,000 jobs/s with 8 claimers: batch {r['batch']} {verdict} "
                  f"({r['rate']:.0f})")
    if not all(r["ok"] for r in rows):
        raise SystemExit("some job was not claimed exactly once")


if __name__ == "__main__":
    main()
