-- The campaign engine: what an import brings per debtor, campaigns with their flows and policy,
-- waves, the do-not-call list, and the record of every decision not to call someone.

-- ---------------------------------------------------------------- core: debtors as imported
ALTER TABLE debtors
    ADD COLUMN amount_owed       numeric(14, 2),
    ADD COLUMN installments_owed integer,
    ADD COLUMN due_date          date,
    ADD COLUMN max_date          date,
    ADD COLUMN delinquency_type  text NOT NULL DEFAULT '',
    ADD COLUMN import_id         bigint;
CREATE INDEX debtors_selection_idx ON debtors (company_id, delinquency_type) WHERE excluded_at IS NULL;

-- One row per import run and one per rejected line, so an operator can fix the file and re-import.
CREATE TABLE imports (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source        text NOT NULL,
    company_id    bigint REFERENCES companies (id),
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    rows_read     integer NOT NULL DEFAULT 0,
    debtors_new   integer NOT NULL DEFAULT 0,
    debtors_updated integer NOT NULL DEFAULT 0,
    rows_rejected integer NOT NULL DEFAULT 0
);
CREATE TABLE import_errors (
    import_id bigint NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    line      integer NOT NULL,
    reason    text NOT NULL,
    PRIMARY KEY (import_id, line, reason)
);

-- Numbers nobody may call (a national registry export, or a debtor's own "do not call me").
CREATE TABLE do_not_call (
    e164       text PRIMARY KEY CHECK (e164 ~ '^\+[1-9][0-9]{6,14}$'),
    reason     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------- catalogs: campaigns
ALTER TABLE campaigns
    ADD COLUMN selection jsonb NOT NULL DEFAULT '{}'::jsonb,  -- which debtors (delinquency types, ...)
    ADD COLUMN flows     jsonb NOT NULL DEFAULT '{}'::jsonb,  -- delinquency type -> negotiation flow
    ADD COLUMN policy    jsonb NOT NULL DEFAULT '{}'::jsonb;  -- ContactPolicyConfig overrides

-- One row per wave a campaign ran: the unique key is what keeps a restart, a second planner
-- process or a misfired trigger from running the same wave twice.
CREATE TABLE waves (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id bigint NOT NULL REFERENCES campaigns (id),
    local_date  date NOT NULL,
    slot        text NOT NULL,                -- '09:00', or 'manual-<time>' for a wave launched by hand
    planned_at  timestamptz NOT NULL DEFAULT now(),
    enqueued    integer NOT NULL DEFAULT 0,
    skipped     jsonb NOT NULL DEFAULT '{}'::jsonb,  -- reason -> how many debtors it held back
    UNIQUE (campaign_id, local_date, slot)
);

-- ---------------------------------------------------------------- core: the queue
ALTER TABLE call_jobs
    ADD COLUMN trunk       text NOT NULL DEFAULT 'trunk',
    ADD COLUMN wave_id     bigint REFERENCES waves (id),
    ADD COLUMN callback_at timestamptz,        -- the debtor asked to be called then
    ADD COLUMN claims      integer NOT NULL DEFAULT 0,
    ADD COLUMN last_outcome text,
    ADD COLUMN reason      text;               -- why the job ended, or why it waits
DROP INDEX call_jobs_due_idx;
CREATE INDEX call_jobs_due_idx ON call_jobs (trunk, next_at, id) WHERE state = 'queued';
CREATE INDEX call_jobs_claimed_idx ON call_jobs (trunk, lease_expires_at) WHERE state = 'claimed';
-- At most one live job per debtor and campaign: a wave never enqueues someone twice.
CREATE UNIQUE INDEX call_jobs_live_idx ON call_jobs (campaign_id, debtor_id) WHERE state IN ('queued', 'claimed');
CREATE INDEX call_jobs_debtor_idx ON call_jobs (debtor_id);

-- ---------------------------------------------------------------- operation: decisions
-- Every decision not to call (or to stop calling) someone, with its reason, so "why was this
-- person not called today?" has an answer.
CREATE TABLE contact_decisions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    campaign_id bigint REFERENCES campaigns (id),
    debtor_id   bigint NOT NULL REFERENCES debtors (id) ON DELETE CASCADE,
    job_id      bigint REFERENCES call_jobs (id),
    decision    text NOT NULL CHECK (decision IN ('deferred', 'excluded', 'failed', 'done', 'do_not_call')),
    reason      text NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX contact_decisions_debtor_idx ON contact_decisions (debtor_id, at);

CREATE INDEX call_attempts_job_idx ON call_attempts (job_id) WHERE job_id IS NOT NULL;
