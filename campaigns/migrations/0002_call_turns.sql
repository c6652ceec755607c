-- One row per caller turn of a conversation: what was said, what the agent said back (and what
-- the caller actually heard after a barge-in), and the latency marks in ms after end of speech.
CREATE TABLE call_turns (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    attempt_id            uuid NOT NULL REFERENCES call_attempts (id) ON DELETE CASCADE,
    idx                   integer NOT NULL,
    user_text             text NOT NULL,
    confidence            real,
    stt_final_ms          real,
    agent_first_output_ms real,
    tts_first_audio_ms    real,
    first_rtp_out_ms      real,
    voice_to_voice_ms     real,
    agent_planned         text NOT NULL DEFAULT '',
    agent_spoken          text NOT NULL DEFAULT '',
    interrupted           boolean NOT NULL DEFAULT false,
    turn_rule             text NOT NULL DEFAULT '',
    tool_calls            jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (attempt_id, idx)
);
