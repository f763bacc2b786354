-- The admin dashboard: failed sign-ins (throttling that holds across nodes) and the "Try"
-- logins in flight (state and PKCE verifier, bound to the admin session that started them).

CREATE TABLE signin_attempts (
    -- `account:<normalised e-mail>` or `ip:<address>`
    key  text NOT NULL,
    at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX signin_attempts_by_key ON signin_attempts (key, at);

CREATE TABLE try_attempts (
    tenant_id      uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    state_hash     bytea NOT NULL UNIQUE,
    session_hash   bytea NOT NULL REFERENCES admin_sessions ON DELETE CASCADE,
    connection_id  text NOT NULL,
    code_verifier  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, state_hash)
);
CREATE INDEX try_attempts_expiry ON try_attempts (expires_at);
CREATE INDEX admin_sessions_by_admin ON admin_sessions (admin_id);
