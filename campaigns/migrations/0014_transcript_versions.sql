-- Offline re-processing (ari_app/reprocess.py): a call whose live transcript was weak is transcribed
-- again from its recording with a bigger, slower setting, and the post-call analysis is run again.

-- A call's transcript versions. 'live' is a snapshot of what the call stored (call_lines, with the
-- turns' mean confidence), written when the call is re-processed; 'offline' is the re-transcription.
-- `lines` is the whole transcript in order: [{speaker, text, start_ms, end_ms, source, confidence?,
-- live_text?}]; the agent's lines are copied, the caller's re-transcribed. The call_lines/call_turns
-- rows are never changed: they stay what was heard during the call.
CREATE TABLE call_transcript_versions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    attempt_id      uuid NOT NULL REFERENCES call_attempts (id) ON DELETE CASCADE,
    version         text NOT NULL CHECK (version IN ('live', 'offline')),
    model           text NOT NULL DEFAULT '',
    beam            integer CHECK (beam >= 1),
    lines           jsonb NOT NULL DEFAULT '[]'::jsonb,
    mean_confidence real,
    decode_s        real,            -- the offline decode's wall time, all lines together
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (attempt_id, version)
);

-- One re-processing job per call (re-requested: the same row goes back to 'queued').
CREATE TABLE call_reprocessing (
    attempt_id   uuid PRIMARY KEY REFERENCES call_attempts (id) ON DELETE CASCADE,
    status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    requested_by text NOT NULL DEFAULT '',       -- 'api', 'cli'
    requested_at timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    error        text
);

-- Which transcript version an analysis read ('live' for every analysis before this migration).
ALTER TABLE call_analyses
    ADD COLUMN transcript_version text NOT NULL DEFAULT 'live' CHECK (transcript_version IN ('live', 'offline'));
