-- Redeems an authorization code in one statement (db::login::redeem): spends it, checks it
-- against the request, reads its user, stores the refresh token of a good redemption and
-- records the outcome as an event.
--
-- $1 tenant; $2 code hash; $3 refresh token family; $4 refresh token hash (null: none may be
-- issued); $5 its expiry; $6 client; $7 redirect_uri sent; $8 whether it may be omitted;
-- $9 S256 of the code_verifier sent; $10 event id; $11, $12 event types of a good and a refused
-- redemption; $13, $14 the requester's ip and user agent; $15 what a repeat of this redemption
-- gets back (the refresh token, sealed for the holder of the code).
--
-- The checks are here rather than in Rust so that their outcome is stored with the redemption
-- itself. The user is read once (`u`), for the checks and the answer. (Comparing the PKCE
-- challenge need not be constant-time: it is a hash of the secret, and was sent in the clear at
-- /authorize.) Columns that come through the CTEs are marked: PostgreSQL cannot tell their
-- nullability there, and `u`'s are null when the user is gone.
WITH c AS (
    UPDATE authorization_codes SET used_at = now(), family_id = $3, answer_sealed = $15
    WHERE tenant_id = $1 AND code_hash = $2 AND used_at IS NULL
    RETURNING trace_id, client_id, user_id, connection_id, redirect_uri, scope, nonce,
        code_challenge, auth_time, expires_at, used_at, family_id
), u AS (
    SELECT users.* FROM users JOIN c ON users.tenant_id = $1 AND users.user_id = c.user_id
), v AS (
    SELECT c.*, CASE
        WHEN c.expires_at < now() THEN 'the code has expired'
        WHEN c.client_id <> $6 THEN 'the code was issued to another client'
        WHEN CASE WHEN $7::text IS NULL THEN NOT $8 ELSE $7 <> c.redirect_uri END
            THEN 'redirect_uri does not match the authorization request'
        WHEN c.code_challenge IS NOT NULL AND $9::text IS NULL
            THEN 'code_verifier is required'
        WHEN c.code_challenge IS NOT NULL AND $9 <> c.code_challenge
            THEN 'code_verifier does not match the code_challenge'
        WHEN c.code_challenge IS NULL AND $9 IS NOT NULL
            THEN 'code_verifier was sent but the authorization request had no code_challenge'
        WHEN u.user_id IS NULL THEN 'the user no longer exists'
        WHEN u.blocked THEN 'the user is blocked'
    END AS refused
    FROM c LEFT JOIN u ON true
), r AS (
    INSERT INTO refresh_tokens (tenant_id, token_hash, family_id, client_id, user_id, scope,
        auth_time, expires_at)
    SELECT $1, $4, $3, v.client_id, v.user_id, v.scope, v.auth_time, $5 FROM v
    WHERE v.refused IS NULL AND $4::bytea IS NOT NULL
      AND 'offline_access' = ANY (string_to_array(v.scope, ' '))
    RETURNING 1
), e AS (
    INSERT INTO events (tenant_id, event_id, type, trace_id, client_id, user_id, description,
        details, ip, user_agent)
    SELECT $1, $10, CASE WHEN v.refused IS NULL THEN $11 ELSE $12 END, v.trace_id,
        v.client_id, v.user_id, coalesce(v.refused, 'authorization code redeemed'),
        jsonb_build_object('step', 'code_redeemed',
            'outcome', CASE WHEN v.refused IS NULL THEN 'ok' ELSE 'failed' END),
        $13, $14
    FROM v
)
SELECT v.trace_id AS "trace_id!", v.client_id AS "client_id!", v.user_id AS "user_id!",
    v.connection_id AS "connection_id!", v.redirect_uri AS "redirect_uri!", v.scope AS "scope!",
    v.nonce AS "nonce?", v.code_challenge AS "code_challenge?", v.auth_time AS "auth_time!",
    v.expires_at AS "expires_at!", v.used_at AS "used_at?", v.family_id AS "family_id?",
    v.refused AS "refused?",
    u.email AS "email?", u.email_verified AS "email_verified?", u.name AS "name?",
    u.nickname AS "nickname?", u.given_name AS "given_name?", u.family_name AS "family_name?",
    u.picture AS "picture?", u.locale AS "locale?", u.logins_count AS "logins_count?",
    u.last_login AS "last_login?", u.created_at AS "user_created_at?",
    u.updated_at AS "user_updated_at?", u.blocked AS "blocked?",
    EXISTS (SELECT 1 FROM r) AS "refresh_issued!"
FROM v LEFT JOIN u ON true
