-- What a campaign does when an answering machine picks up (Asterisk AMD on the outbound leg):
-- 'hangup' at once, leave a short 'message' (no debt details: anyone may play it back), or 'off'
-- to skip detection (it delays a silent human's greeting by the initial-silence window). 'off' by
-- default until busy/no-answer are reported through the AMD leg (see README, The agent).
ALTER TABLE campaigns
    ADD COLUMN answering_machine text NOT NULL DEFAULT 'off'
        CHECK (answering_machine IN ('hangup', 'message', 'off'));
