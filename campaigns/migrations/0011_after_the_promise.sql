-- After the conversation: an open promise holds a debtor's calls, a broken one becomes a reminder
-- call, and "already paid" and disputes wait for a person (campaigns/holds.py).

-- When a promise stopped being open and who said so: a person marks it kept or broken
-- (`python -m campaigns promise-kept`); the wave planner marks it broken ('planner') when its
-- date and the campaign's grace have passed unpaid and it queues the reminder.
ALTER TABLE promises
    ADD COLUMN settled_at timestamptz,
    ADD COLUMN settled_by text NOT NULL DEFAULT '';

-- What a job calls for: the ordinary collection call, or the reminder of a broken promise (the
-- call center picks the reminder's prompt from it).
ALTER TABLE call_jobs
    ADD COLUMN purpose    text NOT NULL DEFAULT 'collection' CHECK (purpose IN ('collection', 'promise_reminder')),
    ADD COLUMN promise_id bigint REFERENCES promises (id),
    ADD CONSTRAINT call_jobs_reminder_names_its_promise
        CHECK ((purpose = 'promise_reminder') = (promise_id IS NOT NULL));
-- One reminder per promise, ever: of two planners racing over the same broken promise the second's
-- insert finds this entry and does nothing, and only the planner whose reminder went in marks the
-- promise broken.
CREATE UNIQUE INDEX call_jobs_promise_reminder_idx ON call_jobs (promise_id) WHERE purpose = 'promise_reminder';

-- How many of a wave's jobs are promise reminders (they are also counted in `enqueued`).
ALTER TABLE waves ADD COLUMN reminders integer NOT NULL DEFAULT 0;

-- 'held': the dialer's gate found the debtor held back (an open promise, a follow-up waiting for a
-- person); the job is cancelled and a wave queues the debtor again once the hold has ended.
ALTER TABLE contact_decisions DROP CONSTRAINT contact_decisions_decision_check;
ALTER TABLE contact_decisions ADD CONSTRAINT contact_decisions_decision_check
    CHECK (decision IN ('deferred', 'excluded', 'failed', 'done', 'do_not_call', 'held'));

-- The calls that may leave a debtor waiting for a person: every wave looks them up, whatever their age.
CREATE INDEX call_attempts_waiting_idx ON call_attempts (debtor_id, created_at)
    WHERE result IN ('already_paid', 'dispute');
