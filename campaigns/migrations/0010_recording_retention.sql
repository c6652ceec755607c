-- Recordings are deleted after the operator's retention (RECORDING_RETENTION_DAYS): the row keeps
-- when, so that "no recording" can be told apart from "recorded, then deleted by the policy".
ALTER TABLE call_attempts ADD COLUMN recording_deleted_at timestamptz;
-- The retention sweep reads the oldest calls that still have a recording.
CREATE INDEX call_attempts_recorded_idx ON call_attempts (created_at) WHERE recording_path IS NOT NULL;
