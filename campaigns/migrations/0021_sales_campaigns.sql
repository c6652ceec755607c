-- Sales campaigns (a payroll-loan offer) next to collections: a campaign has a kind, its contacts
-- are leads, and a lead may arrive with only a name and a phone.

ALTER TABLE campaigns
    ADD COLUMN kind text NOT NULL DEFAULT 'collection' CHECK (kind IN ('collection', 'sales'));

-- A lead is a contact a sales campaign calls: no debt, maybe no national id. Its key is the national
-- id when the list had one, else the phone it came with; a debtor's key stays its national id, so a
-- person who is both a debtor and a lead of one company is two contacts that never overwrite each other.
ALTER TABLE debtors
    ADD COLUMN kind text NOT NULL DEFAULT 'debtor' CHECK (kind IN ('debtor', 'lead')),
    ADD COLUMN lead_phone text CHECK (lead_phone ~ '^\+[1-9][0-9]{6,14}$'),
    ALTER COLUMN national_id DROP NOT NULL,
    ADD CONSTRAINT debtors_identified CHECK (national_id IS NOT NULL OR (kind = 'lead' AND lead_phone IS NOT NULL));
ALTER TABLE debtors
    ADD COLUMN contact_key text NOT NULL GENERATED ALWAYS AS (
        CASE WHEN kind = 'lead' THEN 'lead:' || coalesce(national_id, lead_phone) ELSE national_id END) STORED;
ALTER TABLE debtors DROP CONSTRAINT debtors_company_id_national_id_key;
ALTER TABLE debtors ADD CONSTRAINT debtors_company_contact_key UNIQUE NULLS NOT DISTINCT (company_id, contact_key);
CREATE INDEX debtors_national_id_idx ON debtors (national_id) WHERE national_id IS NOT NULL;

-- A sales call's job.
ALTER TABLE call_jobs DROP CONSTRAINT call_jobs_purpose_check;
ALTER TABLE call_jobs ADD CONSTRAINT call_jobs_purpose_check
    CHECK (purpose IN ('collection', 'promise_reminder', 'sales'));

-- What a sales call's analysis adds: interest 1 (none) to 5 (wants to sign), and what the lead said
-- (key points, objections; also in `result`). A warm lead waits in the ready-for-human queue.
ALTER TABLE call_analyses
    ADD COLUMN interest_score smallint CHECK (interest_score BETWEEN 1 AND 5),
    ADD COLUMN key_points     text[] NOT NULL DEFAULT '{}',
    ADD COLUMN objections     text[] NOT NULL DEFAULT '{}';
