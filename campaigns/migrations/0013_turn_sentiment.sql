-- Each caller turn's sentiment, scored during the call by the rule analyzer's scorer
-- (analysis.live): NULL for a turn with no words, and for turns stored before this migration.
ALTER TABLE call_turns
    ADD COLUMN sentiment  text CHECK (sentiment IN ('positive', 'neutral', 'negative')),
    ADD COLUMN frustrated boolean;

-- The reasons a sentiment_alert webhook already went out for on this call ('asked_for_human',
-- 'frustrated', 'negative_and_worsening'), live or after the call: each reason alerts once per call.
-- Kept on the call's row, which every writer of its webhooks locks before emitting.
ALTER TABLE call_attempts ADD COLUMN sentiment_alerts text[] NOT NULL DEFAULT '{}';
