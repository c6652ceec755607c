-- Several processes (and machines) share this database. Each process owns its calls:
-- the node (machine and Stasis app) that placed or answered each call, so that a restarting process
-- closes only its own orphaned attempts, never the live calls of another process.
ALTER TABLE call_attempts ADD COLUMN node text;

-- Which process serves each Stasis app of each Asterisk. Asterisk gives an app's events to the newest
-- WebSocket, and keeps an app listed (inactive) after its process died, so it cannot say whether an
-- app is served: this lease does. A live process renews it; a dead one's goes stale, or, on the same
-- machine, is taken over at once when its pid is gone.
CREATE TABLE stasis_app_leases (
    ari_url      text        NOT NULL,
    app          text        NOT NULL,
    host         text        NOT NULL,
    pid          integer     NOT NULL,
    node         text        NOT NULL,
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ari_url, app)
);
