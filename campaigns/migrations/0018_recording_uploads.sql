-- Recordings copied to an object store (RECORDINGS_STORE=s3|both). The queue is the recording row
-- itself: a recording is waiting for its upload while recording_uploaded_at is NULL, so the fact that
-- it must be uploaded is written in the same UPDATE that stores its key, and no crash can lose it.
-- A failed upload is tried again at recording_upload_next_at; the last error says why it failed.
ALTER TABLE call_attempts
    ADD COLUMN recording_uploaded_at    timestamptz,
    ADD COLUMN recording_upload_tries   integer NOT NULL DEFAULT 0,
    ADD COLUMN recording_upload_next_at timestamptz,
    ADD COLUMN recording_upload_error   text;

CREATE INDEX call_attempts_recording_uploads ON call_attempts (recording_upload_next_at NULLS FIRST, created_at)
    WHERE recording_path IS NOT NULL AND recording_uploaded_at IS NULL AND state = 'ended';
