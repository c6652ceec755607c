-- What a campaign does when an answering machine picks up (Asterisk AMD on the outbound leg):
-- 'hangup' at once, leave a short 'message' (no debt details: anyone may play it back), or 'off'
-- to skip detection (it delays a silent human's greeting by the initial-silence window). Campaigns
-- that existed before keep working as they did ('off'); new ones detect (CampaignSpec: 'hangup').
ALTER TABLE campaigns
    ADD COLUMN answering_machine text NOT NULL DEFAULT 'off'
        CHECK (answering_machine IN ('hangup', 'message', 'off'));
