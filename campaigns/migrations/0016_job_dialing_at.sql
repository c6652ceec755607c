-- When a claimed job passed its gate and is being dialed: the gate of another job for the same debtor
-- (another campaign, another process) sees the call in flight before its attempt row exists, and waits.
ALTER TABLE call_jobs ADD COLUMN dialing_at timestamptz;
