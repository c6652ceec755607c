-- Whether a turn's transcript came from the decode started during the caller's pause
-- (speculative recognition), to tune speculate_after_s against real traffic.
ALTER TABLE call_turns ADD COLUMN stt_speculative boolean NOT NULL DEFAULT false;
