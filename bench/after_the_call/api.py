"""Part 3: the operator API served for real, timed request by request, with the event loop's stalls."""

from __future__ import annotations

import asyncio
import csv
import io
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory

import aiohttp
import psycopg

from api import ApiServices, OperatorApi
from bench.after_the_call.api_seed import seed_api
from bench.after_the_call.common import ms, pct
from bench.after_the_call.explain import WHAT_IF_INDEXES, explain_queries
from campaigns.db import open_database
from campaigns.webhooks import WebhookDelivery
from media.recordings import LocalRecordingStore

TOKEN = "bench-operator-token-0123456789abcdef"


async def _timed_get(session: aiohttp.ClientSession, url: str) -> tuple[float, int, bytes]:
    t0 = time.perf_counter()
    async with session.get(url) as resp:
        body = await resp.read()
    return time.perf_counter() - t0, resp.status, body


class LoopStall:
    """The longest the event loop went without running a 5 ms timer, over a window.

    The app serves this API from the event loop that also paces the calls' RTP every 20 ms
    (`media.pacer`): a handler's synchronous work (rows decoded, JSON or CSV built) is a gap in every
    live call's audio. Here server and client share the loop; the client's part is reading bytes.
    """

    def __init__(self) -> None:
        self._worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t0 = loop.time()
            await asyncio.sleep(0.005)
            self._worst = max(self._worst, loop.time() - t0 - 0.005)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._tick())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def take(self) -> float:
        """The worst stall since the last take."""
        worst, self._worst = self._worst, 0.0
        return worst


STALL = LoopStall()


async def _sequential(session: aiohttp.ClientSession, base: str, label: str, path: Callable[[], str],
                      n: int) -> bool:
    """`n` requests one after the other (after 5 to warm up); prints one row; True if all were 200."""
    for _ in range(5):  # connections, plans, caches
        await _timed_get(session, base + path())
    times, statuses, sizes = [], Counter[int](), []
    STALL.take()
    for _ in range(n):
        elapsed, status, body = await _timed_get(session, base + path())
        times.append(elapsed)
        statuses[status] += 1
        sizes.append(len(body))
    print(f"{label:<44}{ms(statistics.median(times)):>10}{ms(pct(times, 95)):>9}{ms(max(times)):>9}"
          f"{statistics.mean(sizes) / 1024:>8.1f}{ms(STALL.take()):>10}  "
          + " ".join(f"{s}x{k}" for s, k in statuses.items()), flush=True)
    return set(statuses) == {200}


async def _export(session: aiohttp.ClientSession, base: str, runs: int) -> bool:
    times, ok, body = [], True, b""
    STALL.take()
    for _ in range(runs):
        elapsed, status, body = await _timed_get(session, f"{base}/api/v1/export/calls?format=csv")
        times.append(elapsed)
        ok = ok and status == 200
    stall = STALL.take()
    rows = sum(1 for _ in csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";")) - 1
    print(f"GET /api/v1/export/calls?format=csv (all rows): {rows} rows, {len(body) / 1e6:.2f} MB; "
          f"median {ms(statistics.median(times))} ms of {runs} (min {ms(min(times))}, max {ms(max(times))}) "
          f"= {rows / statistics.median(times):,.0f} rows/s; longest event-loop stall {ms(stall)} ms", flush=True)
    return ok


async def _concurrent(session: aiohttp.ClientSession, base: str, label: str, path: Callable[[], str], total: int,
                      concurrency: int) -> bool:
    paths = iter([path() for _ in range(total)])
    lat: list[float] = []
    codes: Counter[int] = Counter()

    async def client() -> None:
        for p in paths:
            elapsed, status, _ = await _timed_get(session, base + p)
            lat.append(elapsed)
            codes[status] += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    wall = time.perf_counter() - t0
    print(f"  {label:<42}{len(lat) / wall:>8.0f} requests/s; latency median {ms(statistics.median(lat))} ms, "
          f"p95 {ms(pct(lat, 95))} ms; " + " ".join(f"{s}x{n}" for s, n in codes.items()), flush=True)
    return set(codes) == {200}


async def bench_api(url: str, m: int, days: float, requests: int, export_runs: int, concurrency: int,
                    seed: int, explain: bool, what_if: bool) -> bool:
    async with open_database(url, max_size=1):  # the schema
        pass
    t0 = time.perf_counter()
    seeded = seed_api(url, m, days, seed, analysed_share=0.9)
    prep = time.perf_counter() - t0
    print(f"\n== 3. operator API served for real (aiohttp on 127.0.0.1, port 0, bearer token), "
          f"{requests} sequential requests per endpoint ==")
    print(f"{m} calls over the last {days:g} days ({seeded['in_24h']} in the last 24 h) + 6 live; rows: "
          + ", ".join(f"{k} {v}" for k, v in seeded["counts"].items())
          + f"; generated and loaded in {prep:.1f} s (COPY + VACUUM ANALYZE {seeded['loaded_s']:.1f} s)")
    ok = True
    rnd = random.Random(seed + 1)
    ids = seeded["answered_ids"]
    endpoints: dict[str, Callable[[], str]] = {
        "GET /api/v1/calls?limit=50": lambda: "/api/v1/calls?limit=50",
        "GET /api/v1/calls?outcome=answered&limit=50": lambda: "/api/v1/calls?outcome=answered&limit=50",
        "GET /api/v1/calls/{id}": lambda: f"/api/v1/calls/{rnd.choice(ids)}",
        "GET /api/v1/calls/{id}/transcript": lambda: f"/api/v1/calls/{rnd.choice(ids)}/transcript",
        "GET /api/v1/metrics/summary?hours=24": lambda: "/api/v1/metrics/summary?hours=24",
        "GET /metrics": lambda: "/metrics",
        "GET /api/v1/live": lambda: "/api/v1/live",
        "GET /api/v1/followups": lambda: "/api/v1/followups",
    }
    header = f"{'endpoint':<44}{'median ms':>10}{'p95 ms':>9}{'max ms':>9}{'KiB':>8}{'stall ms':>10}  status"
    async with open_database(url) as pool, WebhookDelivery(pool, timeout_s=2.0) as delivery:
        with TemporaryDirectory() as recordings:
            services = ApiServices(pool=pool, webhook_delivery=delivery, recordings=LocalRecordingStore(Path(recordings)),
                                   ari_connected=lambda: True, currency="CLP")
            async with OperatorApi(services, tokens=[TOKEN], host="127.0.0.1", port=0) as server, \
                    aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as session:
                base = server.url
                STALL.start()
                print("(stall ms: the event loop's longest stall during the requests; the app paces live calls' "
                      "RTP on that loop every 20 ms)")
                print(header)
                for label, path in endpoints.items():
                    ok = await _sequential(session, base, label, path, requests) and ok
                ok = await _export(session, base, export_runs) and ok
                print(f"{concurrency} concurrent clients, {requests * 2} requests per endpoint (the app's pool: "
                      f"max_size 10; one server process):")
                for label in ("GET /api/v1/calls?limit=50", "GET /api/v1/calls/{id}", "GET /metrics"):
                    ok = await _concurrent(session, base, label, endpoints[label], requests * 2, concurrency) and ok
                if explain:
                    await explain_queries(pool, ids[0])
                if what_if:
                    print(f"\n-- what if: the same reads with {len(WHAT_IF_INDEXES)} indexes added "
                          "(in this scratch database only) --")
                    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                        for index in WHAT_IF_INDEXES:
                            await conn.execute(index)
                            print("   " + index)
                        await conn.execute("VACUUM ANALYZE")
                    print(header)
                    for label in ("GET /api/v1/calls?limit=50", "GET /api/v1/calls/{id}",
                                  "GET /api/v1/metrics/summary?hours=24", "GET /metrics", "GET /api/v1/live"):
                        ok = await _sequential(session, base, label, endpoints[label], requests) and ok
                    ok = await _export(session, base, export_runs) and ok
                    if explain:
                        await explain_queries(pool, ids[0], only=("calls list", "export", "metrics", "live"))
                STALL.stop()
    return ok
