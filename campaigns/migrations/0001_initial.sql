-- First schema, in the three layers of the design: catalogs, core, operation.
-- Phone numbers are stored in E.164; masking happens at the edges (logs, exports), not here.

-- ---------------------------------------------------------------- catalogs
CREATE TABLE companies (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE campaigns (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id  bigint REFERENCES companies (id),
    name        text NOT NULL UNIQUE,
    country     text NOT NULL DEFAULT 'CL' CHECK (country ~ '^[A-Z]{2}$'),
    timezone    text NOT NULL DEFAULT 'America/Santiago',
    trunk       text NOT NULL DEFAULT 'trunk',
    caller_id   text NOT NULL DEFAULT '',
    status      text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'paused', 'finished')),
    settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------- core
CREATE TABLE debtors (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id       bigint REFERENCES companies (id),
    national_id      text NOT NULL,            -- RUT (Chile), DNI/CUIT (Argentina), cédula (Colombia)
    full_name        text NOT NULL,
    country          text NOT NULL DEFAULT 'CL',
    timezone         text NOT NULL DEFAULT 'America/Santiago',
    variables        jsonb NOT NULL DEFAULT '{}'::jsonb,   -- dynamic variables for the agent's prompts
    excluded_at      timestamptz,
    exclusion_reason text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (company_id, national_id)
);

CREATE TABLE phones (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    debtor_id     bigint NOT NULL REFERENCES debtors (id) ON DELETE CASCADE,
    e164          text NOT NULL CHECK (e164 ~ '^\+[1-9][0-9]{6,14}$'),
    position      smallint NOT NULL DEFAULT 0,  -- rotation order
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'wrong_number', 'invalid')),
    last_tried_at timestamptz,
    UNIQUE (debtor_id, e164)
);
CREATE INDEX phones_e164_idx ON phones (e164);

CREATE TABLE call_jobs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id      bigint NOT NULL REFERENCES campaigns (id),
    debtor_id        bigint NOT NULL REFERENCES debtors (id),
    state            text NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'claimed', 'done', 'failed', 'cancelled')),
    next_at          timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 0,
    last_phone_id    bigint REFERENCES phones (id),
    lease_owner      text,
    lease_expires_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- The dialer's claim query: due queued jobs in order.
CREATE INDEX call_jobs_due_idx ON call_jobs (next_at) WHERE state = 'queued';

-- ---------------------------------------------------------------- operation
CREATE TABLE call_attempts (
    id               uuid PRIMARY KEY,
    direction        text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    job_id           bigint REFERENCES call_jobs (id),
    campaign_id      bigint REFERENCES campaigns (id),
    debtor_id        bigint REFERENCES debtors (id),
    phone_id         bigint REFERENCES phones (id),
    channel_id       text NOT NULL,
    remote_number    text NOT NULL DEFAULT '',
    local_number     text NOT NULL DEFAULT '',
    endpoint         text NOT NULL DEFAULT '',
    state            text NOT NULL DEFAULT 'dialing'
                     CHECK (state IN ('dialing', 'ringing', 'answered', 'ended')),
    outcome          text CHECK (outcome IN ('answered', 'busy', 'no_answer', 'failed', 'congestion',
                                             'invalid_number', 'voicemail', 'silent')),
    hangup_cause     integer,
    hangup_cause_txt text,
    dial_status      text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    answered_at      timestamptz,
    ended_at         timestamptz,
    metrics          jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE UNIQUE INDEX call_attempts_channel_idx ON call_attempts (channel_id);
CREATE INDEX call_attempts_debtor_idx ON call_attempts (debtor_id, created_at);
CREATE INDEX call_attempts_open_idx ON call_attempts (created_at) WHERE state <> 'ended';

CREATE TABLE call_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    attempt_id  uuid NOT NULL REFERENCES call_attempts (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind        text NOT NULL,
    data        jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX call_events_attempt_idx ON call_events (attempt_id, id);
