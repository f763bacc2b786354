-- A completed login in one statement (db::login::complete): the user, created or another login
-- recorded, their identity, the application's code and the login event. Everything after `u`
-- is written `FROM u`, so nothing is when the user is blocked.
--
-- $1 tenant; $2 user id; $3..$9 root attributes; $10 whether they replace an existing user's;
-- $11..$16 identity; $17..$25 code; $26..$35 event; $36 whether the provider verified the e-mail.
WITH u AS (
    INSERT INTO users (tenant_id, user_id, email, name, nickname, given_name, family_name, picture,
        locale, email_verified, logins_count, last_login)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $36, 1, now())
    ON CONFLICT (tenant_id, user_id) DO UPDATE SET
        email = CASE WHEN $10 THEN EXCLUDED.email ELSE users.email END,
        email_verified = CASE WHEN $10 THEN EXCLUDED.email_verified ELSE users.email_verified END,
        name = CASE WHEN $10 THEN EXCLUDED.name ELSE users.name END,
        nickname = CASE WHEN $10 THEN EXCLUDED.nickname ELSE users.nickname END,
        given_name = CASE WHEN $10 THEN EXCLUDED.given_name ELSE users.given_name END,
        family_name = CASE WHEN $10 THEN EXCLUDED.family_name ELSE users.family_name END,
        picture = CASE WHEN $10 THEN EXCLUDED.picture ELSE users.picture END,
        locale = CASE WHEN $10 THEN EXCLUDED.locale ELSE users.locale END,
        logins_count = users.logins_count + 1,
        last_login = now(),
        updated_at = now()
    WHERE NOT users.blocked
    RETURNING user_id
), i AS (
    INSERT INTO identities (tenant_id, user_id, connection_id, connection_name, provider,
        provider_user_id, profile_data, tokens_sealed)
    SELECT $1, user_id, $11, $12, $13, $14, $15, $16 FROM u
    ON CONFLICT (tenant_id, user_id, connection_id) DO UPDATE SET
        connection_name = EXCLUDED.connection_name, profile_data = EXCLUDED.profile_data,
        tokens_sealed = EXCLUDED.tokens_sealed, updated_at = now()
), c AS (
    INSERT INTO authorization_codes (tenant_id, code_hash, trace_id, client_id, user_id,
        connection_id, redirect_uri, scope, nonce, code_challenge, auth_time, expires_at)
    SELECT $1, $17, $18, $19, user_id, $11, $20, $21, $22, $23, $24, $25 FROM u
)
INSERT INTO events (tenant_id, event_id, type, trace_id, client_id, connection, user_id, actor,
    description, details, ip, user_agent)
SELECT $1, $26, $27, $28, $29, $30, user_id, $31, $32, $33, $34, $35 FROM u
