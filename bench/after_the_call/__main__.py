"""`python -m bench.after_the_call`: the flags, and the three parts in turn (see the package's docstring)."""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import datetime

from ari_app.settings import Settings
from bench import after_the_call
from bench.after_the_call.api import bench_api
from bench.after_the_call.rules import bench_rules
from bench.after_the_call.worker import bench_worker
from tests.scratch_db import scratch_database


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.after_the_call", description=after_the_call.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transcripts", type=int, default=3000, help="part 1: transcripts analysed in-process")
    parser.add_argument("--worker-calls", type=int, default=2000, help="part 2: answered calls the worker analyses")
    parser.add_argument("--worker-batches", default="4,10",
                        help="part 2: comma-separated batch sizes (4 is the app's); each re-runs over the same calls")
    parser.add_argument("--seed-concurrency", type=int, default=8, help="part 2: calls written through CallLog at once")
    parser.add_argument("--api-calls", type=int, default=20_000, help="part 3: calls in the database")
    parser.add_argument("--days", type=float, default=7.0, help="part 3: the calls are spread over this many days")
    parser.add_argument("--requests", type=int, default=100, help="part 3: sequential requests per endpoint")
    parser.add_argument("--export-runs", type=int, default=3, help="part 3: times the full CSV export is fetched")
    parser.add_argument("--concurrency", type=int, default=8, help="part 3: concurrent clients for requests/s")
    parser.add_argument("--explain", action="store_true",
                        help="parts 2 and 3: EXPLAIN ANALYZE the worker's claim and the queries behind the reads")
    parser.add_argument("--what-if-indexes", action="store_true",
                        help="part 3, at the end: add the indexes the slow reads lack (promises by attempt and "
                             "by job, call_attempts and call_turns by created_at, call_jobs by wave) in the "
                             "scratch database and time those reads again")
    parser.add_argument("--parts", default="1,2,3", help="which parts to run")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    parts = {int(p) for p in args.parts.split(",")}
    started = time.perf_counter()
    ok = True
    print(f"after the call: rules {args.transcripts} transcripts; worker {args.worker_calls} calls; "
          f"API {args.api_calls} calls; started {datetime.now():%Y-%m-%d %H:%M:%S}")
    if 1 in parts:
        bench_rules(args.transcripts, args.seed)
    base = Settings().database_url.get_secret_value()
    if 2 in parts:
        with scratch_database(base, "bench_analysis") as url:
            ok = asyncio.run(bench_worker(url, args.worker_calls, [int(b) for b in args.worker_batches.split(",")],
                                          args.seed, args.seed_concurrency, args.explain)) and ok
    if 3 in parts:
        with scratch_database(base, "bench_api") as url:
            ok = asyncio.run(bench_api(url, args.api_calls, args.days, args.requests, args.export_runs,
                                       args.concurrency, args.seed, args.explain, args.what_if_indexes)) and ok
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    if not ok:
        raise SystemExit("a check failed (see the rows marked FAIL or a non-200 status)")


if __name__ == "__main__":
    main()
