"""Part 1: the rule analysis in-process, one thread, one call at a time."""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from datetime import datetime

from analysis import CallAnalysis, RuleAnalyzer, load_classification
from bench.after_the_call.common import SANTIAGO, ms, pct
from bench.after_the_call.transcripts import analysis_input, make_transcript


def bench_rules(n: int, seed: int) -> None:
    rnd = random.Random(seed)
    analyzer = RuleAnalyzer(load_classification())
    call_at = datetime.now(SANTIAGO)
    # Half the calls carry only words (the rules read everything), half the agent's recorded facts too.
    transcripts = [make_transcript(rnd, call_at.date(), with_facts=i % 2 == 0) for i in range(n)]
    inputs = [analysis_input(t, call_at, rnd.choice(("temprana", "tardia", "prejudicial"))) for t in transcripts]
    start = time.perf_counter()
    analyzer.analyze(inputs[0])
    first = time.perf_counter() - start
    for inp in inputs[1:50]:  # warm-up: the regexes' caches
        analyzer.analyze(inp)
    times: list[float] = []
    results: list[CallAnalysis] = []
    wall = time.perf_counter()
    for inp in inputs:
        t0 = time.perf_counter()
        results.append(analyzer.analyze(inp))
        times.append(time.perf_counter() - t0)
    wall = time.perf_counter() - wall
    lines = [len(t.lines) for t in transcripts]
    caller = [sum(s == "caller" for s, _ in t.lines) for t in transcripts]
    print("\n== 1. rule analysis in-process (RuleAnalyzer, bundled classification), one thread ==")
    print(f"{n} transcripts of {min(lines)}-{max(lines)} lines (mean {statistics.mean(lines):.1f}, "
          f"{statistics.mean(caller):.1f} caller lines); half with the agent's recorded result/promise")
    print(f"ms per call: median {ms(statistics.median(times))}, p95 {ms(pct(times, 95))}, "
          f"p99 {ms(pct(times, 99))}, max {ms(max(times))}  (first call, cold: {ms(first)} ms)")
    per_line = [t / max(c, 1) for t, c in zip(times, caller, strict=True)]
    print(f"ms per caller line: median {ms(statistics.median(per_line))}; "
          f"throughput {n / wall:,.0f} calls/s on one thread")
    actions = Counter(r.next_action.value for r in results)
    print("next_action: " + ", ".join(f"{k} {v}" for k, v in actions.most_common())
          + f"; needs_human {sum(r.needs_human for r in results)}; promise read "
          f"{sum(r.promise is not None for r in results)}")
    words_only = [(t, r) for t, r in zip(transcripts, results, strict=True) if t.result is None and t.promise is None]
    promised = [r for t, r in words_only if t.scenario == "promise"]
    asked = [r for t, r in words_only if t.scenario == "asks_for_person"]
    print(f"sanity, words only: promise scenarios with a promise read {sum(r.promise is not None for r in promised)}"
          f"/{len(promised)}; 'asks for a person' with needs_human {sum(r.needs_human for r in asked)}/{len(asked)}")
