-- What the recogniser said before the correction stage changed it, and the critical words it doubted
-- (amounts, dates), per turn: a supervisor reviews corrections beside the transcript the agent acted on.
ALTER TABLE call_turns ADD COLUMN heard_raw text;
ALTER TABLE call_turns ADD COLUMN stt_doubts jsonb NOT NULL DEFAULT '[]'::jsonb;
