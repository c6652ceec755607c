"""Chaos benchmark: a campaign wave while the call center is killed, and its database and Asterisk restarted.

A wave of `--debtors` (40) is dialed by the real app (`python -m ari_app run`, greeting-only calls,
4 channels) through the lab's Asterisk to a sipp carrier that answers, rejects as busy (numbers
ending in 7) or never answers (ending in 8). During the wave:

* the app is SIGKILLed `--kills` (20) times at random moments, and started again at once;
* PostgreSQL is restarted twice, Asterisk once;
* the webhook receiver (a real aiohttp server checking every signature) is stopped for `--receiver-down-s`.

Then the app runs until the queue has settled and every webhook was delivered, and the bench prints:
calls placed per person against what the contact policy allows (one per person in this window:
every retry delay is 30 minutes or more), jobs lost, attempts left open or without an outcome,
webhook events missing or delivered twice (by idempotency key), the app's reconnect time after
Asterisk came back, and how long the dialer took to place a call again after each restart.

    flock /tmp/lab.lock python -m bench.chaos [--debtors 40] [--kills 20] [--receiver-down-s 120]

Needs the lab (`bash asterisk/lab/lab.sh up`) and root (it restarts the lab's PostgreSQL and Asterisk);
uses a scratch database, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from datetime import datetime
from pathlib import Path

from campaigns.db import open_database
from campaigns.planner import WavePlanner
from campaigns.webhooks import WebhookStore
from tests.campaigns.conftest import make_campaign
from tests.campaigns.webhook_receiver import Receiver
from tests.phones.sipp import SippCarrier
from tests.scratch_db import scratch_database

REPO = Path(__file__).resolve().parents[1]
LAB = REPO / "asterisk" / "lab"
CARRIER_PORT = 5099  # this bench's own trunk contact: no test's leftover job is due on it
LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def _log_time(line: str) -> float | None:
    m = LOG_TIME.match(line)
    return datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S,%f").timestamp() if m else None


def _lines_after(log: Path, since: float, needle: str) -> list[float]:
    out = []
    for line in log.read_text("utf-8", "replace").splitlines():
        at = _log_time(line)
        if at is not None and at >= since and needle in line:
            out.append(at)
    return out


async def _seed(url: str, n: int, trunk: str) -> tuple[int, list[str]]:
    """A campaign on this bench's trunk with `n` debtors, one phone each; its wave planned."""
    async with open_database(url) as pool:
        company = f"Caos {os.getpid()}"
        campaign = await make_campaign(pool, company, trunk=trunk)
        numbers = [f"+569555{i:05d}" for i in range(1, n + 1)]  # last digit 7: busy, 8: no answer
        async with pool.connection() as conn, conn.transaction():
            cur = await conn.execute("INSERT INTO companies (name) VALUES (%s) ON CONFLICT (name) DO UPDATE "
                                     "SET name = EXCLUDED.name RETURNING id", (company,))
            (company_id,) = await cur.fetchone()
            for i, e164 in enumerate(numbers):
                cur = await conn.execute(
                    """INSERT INTO debtors (company_id, national_id, full_name, timezone, delinquency_type,
                                            amount_owed) VALUES (%s, %s, %s, %s, 'temprana', 100000) RETURNING id""",
                    (company_id, f"{10_000_000 + i}-0", f"Deudor {i}", campaign.timezone))
                (debtor_id,) = await cur.fetchone()
                await conn.execute("INSERT INTO phones (debtor_id, e164, position) VALUES (%s, %s, 0)",
                                   (debtor_id, e164))
        result = await WavePlanner(pool).plan(campaign, datetime.now().astimezone())
        assert result.enqueued == n, result
        return campaign.id, numbers


class App:
    """`python -m ari_app run` as a child, its output appended to one log."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts: list[float] = []

    def start(self) -> float:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "ari_app", "run"], cwd=REPO, env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT)
        self.starts.append(time.time())
        return self.starts[-1]

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    async def wait_connected(self, since: float, timeout_s: float = 60) -> float:
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if hits := _lines_after(self.log, since, "ARI events connected"):
                return hits[0]
            await asyncio.sleep(0.2)
        raise TimeoutError(f"the app did not connect to ARI within {timeout_s} s (log: {self.log})")


def _ari_up() -> bool:
    request = urllib.request.Request("http://127.0.0.1:8088/ari/asterisk/info")
    request.add_header("Authorization", "Basic " + base64.b64encode(b"callcenter:lab-ari-secret").decode())
    try:
        with urllib.request.urlopen(request, timeout=2):
            return True
    except OSError:
        return False


async def _lab(script: str, action: str) -> None:
    """A lab script (asterisk/lab/), off the loop: the webhook receiver runs on it."""
    await asyncio.to_thread(subprocess.run, ["bash", str(LAB / script), action], check=True, capture_output=True)


async def _run(args: argparse.Namespace) -> None:
    base = os.environ.get("DATABASE_URL", "postgresql://callcenter:callcenter-lab@127.0.0.1:5432/callcenter")
    work = Path(tempfile.mkdtemp(prefix="chaos-"))
    trunk = f"trunk/sip:127.0.0.1:{CARRIER_PORT}"
    rng = random.Random(args.seed)
    with scratch_database(base, "chaos") as url:
        campaign_id, numbers = await _seed(url, args.debtors, trunk)
        receiver = Receiver()
        await receiver.start()
        async with open_database(url) as pool:
            registered = await WebhookStore(pool).register(receiver.url("/hook"))
        receiver.secrets["/hook"] = registered.secret
        env = {**os.environ, "DATABASE_URL": url, "AGENT_MODE": "greeting", "DIALER_CHANNELS": "4",
               "DIALER_POLL_S": "0.3", "DIALER_LEASE_S": "6", "SCHEDULE_WAVES": "false", "ORIGINATE_TIMEOUT_S": "12",
               "TRUNK_ENDPOINT": trunk, "API_ENABLED": "false", "ANALYSIS_ENABLED": "false",
               "RECORDINGS_DIR": str(work / "recordings"), "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
               "LOG_LEVEL": "INFO"}
        app = App(env, work / "app.log")
        resumes: list[float] = []
        events: list[str] = []
        async with SippCarrier("by_number", port=CARRIER_PORT, workdir=work / "carrier") as carrier:
            t0 = time.time()
            await app.wait_connected(app.start())

            async def receiver_outage() -> None:
                await asyncio.sleep(5)
                await receiver.stop()
                events.append(f"{time.time() - t0:6.1f}s webhook receiver stopped for {args.receiver_down_s} s")
                await asyncio.sleep(args.receiver_down_s)
                await receiver.start()
                events.append(f"{time.time() - t0:6.1f}s webhook receiver back")

            outage = asyncio.create_task(receiver_outage())
            # Restarted under the running app, before that many kills: it must ride them out by itself.
            restarts = {5: "postgres", 10: "asterisk", 15: "postgres"}
            reconnect_s = None
            for k in range(1, args.kills + 1):
                await asyncio.sleep(rng.uniform(1.0, 5.0))
                if restarts.get(k) == "postgres":
                    began = time.time()
                    await _lab("postgres.sh", "down")
                    await _lab("postgres.sh", "up")
                    events.append(f"{time.time() - t0:6.1f}s PostgreSQL restarted under the app "
                                  f"({time.time() - began:.1f} s down)")
                    await asyncio.sleep(3)
                elif restarts.get(k) == "asterisk":
                    await _lab("asterisk.sh", "restart")
                    while not await asyncio.to_thread(_ari_up):
                        await asyncio.sleep(0.05)
                    up = time.time()
                    connected = await app.wait_connected(up - 0.5, timeout_s=60)
                    reconnect_s = max(0.0, connected - up)
                    events.append(f"{time.time() - t0:6.1f}s Asterisk restarted under the app; it reconnected "
                                  f"{reconnect_s:.2f} s after ARI answered")
                    await asyncio.sleep(3)
                app.kill()
                events.append(f"{time.time() - t0:6.1f}s kill #{k}")
                started = app.start()
                await app.wait_connected(started)
                # Time to the next call placed, when calls were still due (the queue not drained).
                for _ in range(50):
                    if calling := _lines_after(app.log, started, ": calling "):
                        resumes.append(calling[0] - started)
                        break
                    await asyncio.sleep(0.2)
            await outage
            events.append(f"{time.time() - t0:6.1f}s chaos over; waiting for the queue and the webhooks to settle")
            async with open_database(url) as pool:
                for _ in range(args.settle_s * 2):
                    async with pool.connection() as conn:
                        cur = await conn.execute(
                            """SELECT (SELECT count(*) FROM call_jobs WHERE campaign_id = %s AND state = 'claimed'),
                                      (SELECT count(*) FROM call_attempts WHERE state <> 'ended'),
                                      (SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered')""",
                            (campaign_id,))
                        claimed, open_attempts, undelivered = await cur.fetchone()
                    if claimed == open_attempts == undelivered == 0:
                        break
                    await asyncio.sleep(0.5)
            app.stop()
            dialed = Counter(carrier.dialed().values())
        await receiver.stop()

        async with open_database(url) as pool, pool.connection() as conn:
            cur = await conn.execute("SELECT state, count(*) FROM call_jobs WHERE campaign_id = %s GROUP BY 1",
                                     (campaign_id,))
            jobs = dict(await cur.fetchall())
            cur = await conn.execute("SELECT count(*), count(*) FILTER (WHERE state <> 'ended'), "
                                     "count(*) FILTER (WHERE state = 'ended' AND outcome IS NULL) FROM call_attempts")
            attempts, still_open, no_outcome = await cur.fetchone()
            cur = await conn.execute("SELECT event_id::text FROM webhook_outbox")
            outbox = {row[0] for row in await cur.fetchall()}
            cur = await conn.execute("SELECT status, count(*) FROM webhook_deliveries GROUP BY 1")
            deliveries = dict(await cur.fetchall())
        accepted = [h.event_id for h in receiver.accepted("/hook")]

    print("\n".join(events))
    ours = {n: c for n, c in dialed.items() if n in set(numbers)}
    print(f"\nchaos: {args.kills} SIGKILLs, PostgreSQL restarted twice, Asterisk once, webhook receiver down "
          f"{args.receiver_down_s} s; {args.debtors} debtors, 4 channels")
    print(f"calls placed: {sum(ours.values())} to {len(ours)} of {args.debtors} people; allowed by policy: 1 each; "
          f"beyond the policy: {sum(c - 1 for c in ours.values() if c > 1)}")
    print(f"jobs: {dict(sorted(jobs.items()))}; lost: {args.debtors - sum(jobs.values())}; "
          f"left claimed: {jobs.get('claimed', 0)}")
    print(f"attempts: {attempts}; left open: {still_open}; ended without an outcome: {no_outcome}")
    print(f"webhooks: {len(outbox)} events; deliveries {deliveries}; received (signature checked) "
          f"{len(set(accepted))} distinct, missing {len(outbox - set(accepted))}, delivered more than once "
          f"{len(accepted) - len(set(accepted))}")
    print(f"reconnect after the Asterisk restart: {reconnect_s:.2f} s" if reconnect_s is not None else
          "reconnect: not measured")
    if resumes:
        print(f"dialer resumed after a restart (spawn to the next call placed, {len(resumes)} restarts with calls "
              f"due): median {statistics.median(resumes):.2f} s, max {max(resumes):.2f} s")
    print(f"log: {app.log}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debtors", type=int, default=40)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--receiver-down-s", type=int, default=120)
    parser.add_argument("--settle-s", type=int, default=400)
    parser.add_argument("--seed", type=int, default=20261203)
    asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
