-- Webhooks (issue #6): outside systems are told about calls and their results through an outbox.
--
-- An event is written by the transaction that writes the fact it reports (campaigns.webhooks.emit), so
-- a fact that is rolled back never produces an event, and an event is never lost once the fact is
-- committed, whatever the receiver's state.
--
-- Fan-out happens at emit time: the same statement that writes the outbox row writes one
-- webhook_deliveries row per endpoint that is enabled and subscribed at that moment. Why then and not
-- when delivering:
--  * an endpoint receives exactly the events emitted while it existed, was enabled and subscribed to
--    them: one registered later never gets old events, with no "since when" bookkeeping per endpoint;
--  * the worker works on deliveries only (one row = one endpoint x one event, with its own status,
--    attempts and backoff), claimed with SKIP LOCKED; no cursor per endpoint to keep consistent;
--  * a rolled-back fact rolls its deliveries back with it.
-- The cost is one INSERT ... SELECT over a handful of endpoints inside the fact's transaction.

CREATE TABLE webhook_endpoints (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url         text NOT NULL CHECK (url ~ '^https?://'),
    secret      text NOT NULL CHECK (length(secret) >= 16),  -- HMAC key; shown once, at registration
    events      text[] NOT NULL DEFAULT '{}',                -- event types it wants; empty: all of them
    enabled     boolean NOT NULL DEFAULT true,
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- emission order
    event_id   uuid NOT NULL UNIQUE,  -- the idempotency key receivers deduplicate on (X-Event-Id)
    event      text NOT NULL,
    call_key   text,                  -- ordering key (the call attempt id); NULL: no order to keep
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_outbox_created_idx ON webhook_outbox (created_at);

-- pending: not tried yet; failed: tried, retried at next_attempt_at; delivered: a 2xx came back;
-- dead: gave up after the worker's maximum attempts (an operator may requeue it).
-- While a worker sends, the row stays pending/failed with next_attempt_at pushed ahead by a lease, so a
-- worker that dies mid-send leaves it to be retried, and nothing later of the same call overtakes it.
CREATE TABLE webhook_deliveries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id      bigint NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         uuid NOT NULL REFERENCES webhook_outbox (event_id) ON DELETE CASCADE,
    -- Copies of the outbox row's id and call_key: the ordering check of the claim query (nothing of a
    -- call goes out while an earlier event of that call to that endpoint is undelivered) reads one index.
    seq              bigint NOT NULL,
    call_key         text,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'failed', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_attempt_at  timestamptz,
    last_status_code integer,
    last_error       text,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE status IN ('pending', 'failed');
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (endpoint_id, call_key, seq)
    WHERE status IN ('pending', 'failed');
