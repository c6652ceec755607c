-- Indexes for what supervisors read (measured by bench/after_the_call.py at 100,000 calls):
-- the call list newest first (a sequential scan and sort: 76 ms -> 3 ms), a call's promise in the
-- export and the call detail (a scan of promises per call: the export of 100k calls took 23 s),
-- a wave's promises (the live view polled by the dashboard), the last hour's turn latencies (/metrics).
CREATE INDEX call_attempts_created_idx ON call_attempts (created_at, id);
CREATE INDEX promises_attempt_idx ON promises (attempt_id, id);
CREATE INDEX promises_job_idx ON promises (job_id);
CREATE INDEX call_turns_created_idx ON call_turns (created_at);
