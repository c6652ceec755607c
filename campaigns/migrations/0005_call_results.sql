-- What a conversation achieved: payment promises, and the result of each answered call.

CREATE TABLE promises (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    attempt_id    uuid REFERENCES call_attempts (id),
    debtor_id     bigint NOT NULL REFERENCES debtors (id) ON DELETE CASCADE,
    campaign_id   bigint REFERENCES campaigns (id),
    job_id        bigint REFERENCES call_jobs (id),
    promised_date date NOT NULL,
    amount        numeric(14, 2) NOT NULL CHECK (amount > 0),
    installments  integer CHECK (installments > 0),
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'kept', 'broken', 'cancelled')),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX promises_debtor_idx ON promises (debtor_id, promised_date);
CREATE INDEX promises_open_idx ON promises (promised_date) WHERE status = 'open';

-- The conversation's result, set by the agent's tools: promise, callback, wrong_number, already_paid,
-- refused, stop_calling, transfer, dispute, ... NULL: the call ended without one.
ALTER TABLE call_attempts ADD COLUMN result text;

-- A caller transferred to a person whom nobody answered comes back into the app on the same channel
-- as a new (inbound) leg: a channel id is unique per direction, not overall.
DROP INDEX call_attempts_channel_idx;
CREATE UNIQUE INDEX call_attempts_channel_idx ON call_attempts (channel_id, direction);
