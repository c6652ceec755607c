-- After the call: what a supervisor and outside systems see of each call.

-- The call's transcript, one row per line as it was heard: the agent's lines (greeting and
-- opening included, only what was actually spoken after a barge-in) and the caller's turns.
-- Offsets are milliseconds from the moment the call was answered.
CREATE TABLE call_lines (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    attempt_id  uuid NOT NULL REFERENCES call_attempts (id) ON DELETE CASCADE,
    speaker     text NOT NULL CHECK (speaker IN ('agent', 'caller')),
    text        text NOT NULL,
    start_ms    integer NOT NULL CHECK (start_ms >= 0),
    end_ms      integer NOT NULL CHECK (end_ms >= start_ms),
    source      text NOT NULL DEFAULT '' CHECK (source IN ('', 'stt', 'dtmf', 'tts')),
    interrupted boolean NOT NULL DEFAULT false
);
CREATE INDEX call_lines_attempt_idx ON call_lines (attempt_id, start_ms, id);

-- The recording (stereo WAV: the caller left, the agent right), where the recording store keeps
-- it, and what the call cost: the telephony minutes and the speech/LLM usage, priced at the
-- rates in force when it ended (cost_detail keeps the rates and the quantities).
ALTER TABLE call_attempts
    ADD COLUMN recording_path text,
    ADD COLUMN recording_ms   integer,
    ADD COLUMN usage          jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN cost           numeric(12, 4),
    ADD COLUMN cost_detail    jsonb NOT NULL DEFAULT '{}'::jsonb;

-- Post-call analysis, queued in the transaction that closes an answered call, and the
-- ready-for-human queue (needs_human, priority) a person works through and closes.
CREATE TABLE call_analyses (
    attempt_id      uuid PRIMARY KEY REFERENCES call_attempts (id) ON DELETE CASCADE,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'running', 'done', 'failed')),
    tries           integer NOT NULL DEFAULT 0,
    lease_until     timestamptz,
    analyzer        text NOT NULL DEFAULT '',        -- 'rules' or 'llm:<model>'
    summary         text NOT NULL DEFAULT '',
    sentiment       text CHECK (sentiment IN ('positive', 'neutral', 'negative')),
    sentiment_trend text CHECK (sentiment_trend IN ('improving', 'stable', 'worsening')),
    interest_level  text CHECK (interest_level IN ('high', 'medium', 'low', 'none')),
    next_action     text CHECK (next_action IN ('schedule_meeting', 'send_info', 'follow_up_call',
                                                'close_deal', 'no_interest')),
    promise_date    date,
    promise_amount  numeric(14, 2),
    needs_human     boolean NOT NULL DEFAULT false,
    priority        integer NOT NULL DEFAULT 0,      -- higher first
    classification  jsonb NOT NULL DEFAULT '{}'::jsonb,
    result          jsonb NOT NULL DEFAULT '{}'::jsonb,  -- the whole analysis document
    error           text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    analyzed_at     timestamptz,
    closed_at       timestamptz,
    closed_outcome  text,
    closed_notes    text NOT NULL DEFAULT '',
    closed_by       text NOT NULL DEFAULT ''
);
CREATE INDEX call_analyses_todo_idx ON call_analyses (created_at) WHERE status IN ('pending', 'running');
CREATE INDEX call_analyses_human_idx ON call_analyses (priority DESC, analyzed_at)
    WHERE needs_human AND closed_at IS NULL;
