"""Benchmark: originate -> StasisStart -> first RTP packet out, over N calls through the real lab.

Each call is originated through the `trunk` endpoint to a sipp carrier that answers at once and
echoes RTP. Prints, per stage, the median and p95 in milliseconds:
  originate_to_stasis   POST /channels until our StasisStart (Asterisk + SIP answer)
  stasis_to_first_rtp   StasisStart until our first RTP packet leaves (media setup + TTS cache + pacer)
  originate_to_first_rtp  the sum a debtor perceives as the agent's "reaction" after answering
Run: `make bench` (or `python -m bench.originate_latency --calls 20`) with the lab up.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics

from ari_app.app import CallCenterApp
from ari_app.settings import Settings
from bench import percentile
from campaigns.calls import CallOutcome
from tests.phones.sipp import SippCarrier


async def run(calls: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"originate_to_stasis": [], "stasis_to_first_rtp": [],
                                       "originate_to_first_rtp": []}
    failures: list[str] = []
    # A one-word greeting keeps each call short; what is measured ends at the first packet anyway.
    settings = Settings(GREETING="Hola.", AGENT_MODE="greeting")
    with SippCarrier("answer"):
        async with CallCenterApp(settings) as app:
            await app.wait_ready()
            for _ in range(calls):
                call = app.dialer.dial("5550100")
                await asyncio.wait_for(call.finished.wait(), 30)
                m = call.metrics
                if call.outcome is not CallOutcome.ANSWERED or m.get("first_rtp_out_ms") is None:
                    failures.append(f"{call.outcome}: {m}")
                    continue
                figures["originate_to_stasis"].append(m["originate_to_stasis_ms"])
                figures["stasis_to_first_rtp"].append(m["first_rtp_out_ms"])
                figures["originate_to_first_rtp"].append(m["originate_to_stasis_ms"] + m["first_rtp_out_ms"])
    if failures:
        print(f"{len(failures)} call(s) failed: " + "; ".join(failures[:3]))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    figures = asyncio.run(run(args.calls))
    print(f"originate latency over {len(figures['originate_to_stasis'])} answered calls (ms)")
    print(f"{'stage':<26}{'median':>9}{'p95':>9}{'max':>9}")
    for name, values in figures.items():
        if values:
            print(f"{name:<26}{statistics.median(values):>9.1f}{percentile(values, 0.95):>9.1f}{max(values):>9.1f}")


if __name__ == "__main__":
    main()
