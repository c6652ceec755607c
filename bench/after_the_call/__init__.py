"""Benchmark: after the call — rule-based analysis, the analysis worker on PostgreSQL, the operator API.

1. Rule analysis in-process: `RuleAnalyzer(load_classification()).analyze` over generated Spanish
   collections transcripts of 6-20 lines (promises with amounts and dates, refusals, "ya pagué",
   asking for a person, callbacks, hardship, negotiation, disputes, wrong numbers, filler), one
   thread, one call at a time: ms per call (median, p95), and what the rules made of the mix.
2. The analysis worker end to end: N answered calls written as the app writes them (`CallLog`
   open_attempt, mark_answered, the transcript in `call_lines`, some with the agent's result and a
   registered promise, close_attempt with ANSWERED, which queues the analysis), then
   `AnalysisWorker(AnalysisStore(pool), scheme).run_once()` until nothing is left: calls analysed
   per second, the time per claim / analysis / save, and a check that every row ended 'done'.
3. The operator API served for real (`OperatorApi` on port 0 with a token, as tests/api builds it)
   over M calls spread over the last `--days` days, bulk-loaded with COPY (transcripts, turns with
   latencies, promises, analyses written by the rules, waves and jobs, a few live calls): latency
   (median, p95) of the dashboard's and an integrator's reads, sequential requests from one aiohttp
   client, the CSV export of every row, and requests/s at one concurrency level.
   `--explain` prints EXPLAIN ANALYZE of the worker's claim and of the queries behind the slow reads;
   `--what-if-indexes` then adds an index the schema lacks (call_jobs by wave; the others this
   benchmark once asked for are in migration 0009) in the scratch database and times those reads
   again: a comparison, never a change to the schema.

Client, server and PostgreSQL share the machine's cores: the latencies include that contention.
Needs only PostgreSQL (a scratch database per part). Prints figures; asserts nothing about speed
(it exits non-zero only when a correctness check fails: an analysis not 'done', a non-200 answer).
Run: `python -m bench.after_the_call` (`--transcripts 3000 --worker-calls 2000 --worker-batches 4,10
--api-calls 20000 --days 7 --requests 100 --export-runs 3 --concurrency 8`; `--parts 1,2,3`).
"""
