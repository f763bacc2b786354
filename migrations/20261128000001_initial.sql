-- Gatehouse schema. Every tenant-owned table has tenant_id leading its primary key, so queries
-- are always scoped by tenant and the schema can be distributed by tenant without a rewrite.

CREATE TABLE tenants (
    tenant_id     uuid PRIMARY KEY,
    slug          text NOT NULL UNIQUE,
    display_name  text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Custom domains. The canonical domain ({slug}.{base domain}) is derived, not stored.
CREATE TABLE tenant_domains (
    tenant_id   uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    domain      text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, domain)
);

CREATE TABLE signing_keys (
    tenant_id           uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    kid                 text NOT NULL,
    alg                 text NOT NULL DEFAULT 'RS256',
    private_key_sealed  text NOT NULL,
    public_jwk          jsonb NOT NULL,
    state               text NOT NULL CHECK (state IN ('current', 'previous')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    -- set when rotated out: the key stays published until tokens it signed have expired
    retired_at          timestamptz,
    PRIMARY KEY (tenant_id, kid)
);
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (tenant_id) WHERE state = 'current';

CREATE TABLE clients (
    tenant_id                   uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    client_id                   text NOT NULL,
    name                        text NOT NULL,
    description                 text NOT NULL DEFAULT '',
    app_type                    text NOT NULL,
    secret_hash                 bytea,
    callbacks                   text[] NOT NULL DEFAULT '{}',
    allowed_logout_urls         text[] NOT NULL DEFAULT '{}',
    web_origins                 text[] NOT NULL DEFAULT '{}',
    grant_types                 text[] NOT NULL DEFAULT '{}',
    token_endpoint_auth_method  text NOT NULL,
    is_first_party              boolean NOT NULL DEFAULT true,
    -- the dashboard's built-in client behind "Try"
    is_tester                   boolean NOT NULL DEFAULT false,
    version                     integer NOT NULL DEFAULT 1,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, client_id)
);

CREATE TABLE client_grants (
    tenant_id   uuid NOT NULL,
    grant_id    text NOT NULL,
    client_id   text NOT NULL,
    audience    text NOT NULL,
    scope       text[] NOT NULL DEFAULT '{}',
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, grant_id),
    UNIQUE (tenant_id, client_id, audience),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients ON DELETE CASCADE
);

CREATE TABLE connections (
    tenant_id              uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    connection_id          text NOT NULL,
    name                   text NOT NULL,
    display_name           text,
    strategy               text NOT NULL,
    -- public options only; the client secret lives sealed in its own column
    options                jsonb NOT NULL DEFAULT '{}',
    client_secret_sealed   text,
    is_domain_connection   boolean NOT NULL DEFAULT false,
    show_as_button         boolean NOT NULL DEFAULT true,
    realms                 text[] NOT NULL DEFAULT '{}',
    metadata               jsonb NOT NULL DEFAULT '{}',
    version                integer NOT NULL DEFAULT 1,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, connection_id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE connection_clients (
    tenant_id      uuid NOT NULL,
    connection_id  text NOT NULL,
    client_id      text NOT NULL,
    PRIMARY KEY (tenant_id, connection_id, client_id),
    FOREIGN KEY (tenant_id, connection_id) REFERENCES connections ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients ON DELETE CASCADE
);

CREATE TABLE users (
    tenant_id       uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    user_id         text NOT NULL,
    email           text,
    email_verified  boolean NOT NULL DEFAULT false,
    name            text,
    nickname        text,
    given_name      text,
    family_name     text,
    picture         text,
    locale          text,
    logins_count    integer NOT NULL DEFAULT 0,
    last_login      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX users_by_email ON users (tenant_id, lower(email));

CREATE TABLE identities (
    tenant_id         uuid NOT NULL,
    user_id           text NOT NULL,
    connection_id     text NOT NULL,
    connection_name   text NOT NULL,
    provider          text NOT NULL,
    provider_user_id  text NOT NULL,
    profile_data      jsonb NOT NULL DEFAULT '{}',
    -- upstream access and refresh tokens, sealed
    tokens_sealed     text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, connection_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, connection_id) REFERENCES connections ON DELETE CASCADE
);

-- A login in flight between /authorize and /login/callback. Keyed by the hash of the state
-- sent upstream and bound to the browser by the hash of a cookie value.
CREATE TABLE login_transactions (
    tenant_id              uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    state_hash             bytea NOT NULL,
    browser_hash           bytea NOT NULL,
    trace_id               uuid NOT NULL,
    client_id              text NOT NULL,
    connection_id          text NOT NULL,
    redirect_uri           text NOT NULL,
    response_mode          text NOT NULL,
    app_state              text,
    nonce                  text,
    scope                  text NOT NULL,
    code_challenge         text,
    created_at             timestamptz NOT NULL DEFAULT now(),
    expires_at             timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, state_hash)
);
CREATE INDEX login_transactions_expiry ON login_transactions (expires_at);

CREATE TABLE authorization_codes (
    tenant_id        uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    code_hash        bytea NOT NULL,
    trace_id         uuid NOT NULL,
    client_id        text NOT NULL,
    user_id          text NOT NULL,
    connection_id    text NOT NULL,
    redirect_uri     text NOT NULL,
    scope            text NOT NULL,
    nonce            text,
    code_challenge   text,
    auth_time        timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    used_at          timestamptz,
    -- the refresh token family issued on redemption, revoked if the code is replayed
    family_id        uuid,
    PRIMARY KEY (tenant_id, code_hash)
);
CREATE INDEX authorization_codes_expiry ON authorization_codes (expires_at);

CREATE TABLE refresh_tokens (
    tenant_id    uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    token_hash   bytea NOT NULL,
    family_id    uuid NOT NULL,
    client_id    text NOT NULL,
    user_id      text NOT NULL,
    scope        text NOT NULL,
    auth_time    timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    rotated_at   timestamptz,
    revoked_at   timestamptz,
    PRIMARY KEY (tenant_id, token_hash)
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (tenant_id, family_id);

-- Login events and configuration audit, per tenant.
CREATE TABLE events (
    tenant_id      uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    event_id       uuid NOT NULL,
    type           text NOT NULL,
    at             timestamptz NOT NULL DEFAULT now(),
    trace_id       uuid,
    client_id      text,
    connection     text,
    user_id        text,
    actor          text,
    description    text NOT NULL DEFAULT '',
    details        jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, event_id)
);
CREATE INDEX events_by_time ON events (tenant_id, at DESC);

-- Dashboard operators. Not tenant-owned: an operator spans tenants.
CREATE TABLE admins (
    admin_id       uuid PRIMARY KEY,
    email          text NOT NULL UNIQUE,
    password_hash  text NOT NULL,
    is_operator    boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE admin_memberships (
    tenant_id  uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    admin_id   uuid NOT NULL REFERENCES admins ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('admin', 'read_only')),
    PRIMARY KEY (tenant_id, admin_id)
);

CREATE TABLE admin_sessions (
    session_hash   bytea PRIMARY KEY,
    admin_id       uuid NOT NULL REFERENCES admins ON DELETE CASCADE,
    csrf_token     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL
);

-- Replays of POST answers for the Idempotency-Key header of the management API.
CREATE TABLE idempotency_keys (
    tenant_id       uuid NOT NULL REFERENCES tenants ON DELETE CASCADE,
    key             text NOT NULL,
    request_hash    bytea NOT NULL,
    response_status integer NOT NULL,
    response_body   bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);
