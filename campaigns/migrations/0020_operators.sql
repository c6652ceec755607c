-- Operators: a login per person with a role, sessions, and an audit log of who listened to, downloaded
-- or exported what (recordings of debt conversations are personal data).
CREATE TABLE operators (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._@-]{1,63}$'),
    password_hash text NOT NULL,  -- scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>
    role          text NOT NULL CHECK (role IN ('admin', 'supervisor', 'viewer')),
    disabled_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- A session is a random token given at login; only its SHA-256 is kept, so a database dump logs nobody in.
CREATE TABLE operator_sessions (
    token_hash  bytea PRIMARY KEY,
    operator_id bigint NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX operator_sessions_operator ON operator_sessions (operator_id);

CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,             -- the operator's username, or 'api-token' (an integration)
    operator_id bigint REFERENCES operators (id) ON DELETE SET NULL,
    action      text NOT NULL,             -- listen, export, login, login_failed, logout, operator_created...
    target      text NOT NULL DEFAULT '',  -- what it was done to: a call id, an export's filter, a username
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb,
    remote      text NOT NULL DEFAULT ''   -- the client's address
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
CREATE INDEX audit_log_login_failed ON audit_log (target, at) WHERE action = 'login_failed';
