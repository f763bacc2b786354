//! Login transactions (between /authorize and /login/callback) and authorization codes
//! (between /login/callback and /oauth/token). Both are single use: they are consumed by one
//! atomic statement, so two racing requests cannot both succeed.
//!
//! The writes of a login are few statements on purpose: each is a round trip to PostgreSQL on
//! the login's path, and those round trips, not the SQL, are most of the database's cost.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgExecutor, Row};
use uuid::Uuid;

use crate::client_addr::Requester;
use crate::db::events::NewEvent;
use crate::db::users::{RootAttributes, RootAttributesPolicy, User};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LoginTransaction {
    pub trace_id: Uuid,
    pub client_id: String,
    pub connection_id: String,
    pub redirect_uri: String,
    pub response_mode: String,
    pub app_state: Option<String>,
    pub nonce: Option<String>,
    pub scope: String,
    pub code_challenge: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub struct NewLoginTransaction<'a> {
    pub state_hash: &'a [u8],
    pub browser_hash: &'a [u8],
    pub txn: &'a LoginTransaction,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_transaction(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    new: NewLoginTransaction<'_>,
) -> Result<(), sqlx::Error> {
    let t = new.txn;
    sqlx::query(
        "INSERT INTO login_transactions (tenant_id, state_hash, browser_hash, trace_id, client_id, connection_id,
            redirect_uri, response_mode, app_state, nonce, scope, code_challenge, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(tenant_id)
    .bind(new.state_hash)
    .bind(new.browser_hash)
    .bind(t.trace_id)
    .bind(&t.client_id)
    .bind(&t.connection_id)
    .bind(&t.redirect_uri)
    .bind(&t.response_mode)
    .bind(&t.app_state)
    .bind(&t.nonce)
    .bind(&t.scope)
    .bind(&t.code_challenge)
    .bind(t.created_at)
    .bind(new.expires_at)
    .execute(db)
    .await
    .map(|_| ())
}

/// Consumes the unexpired transaction for this state *and this browser*. A request from
/// another browser finds nothing and leaves the real one intact.
pub async fn take_transaction(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    state_hash: &[u8],
    browser_hash: &[u8],
) -> Result<Option<LoginTransaction>, sqlx::Error> {
    sqlx::query_as(
        "DELETE FROM login_transactions
         WHERE tenant_id = $1 AND state_hash = $2 AND browser_hash = $3 AND expires_at > now()
         RETURNING trace_id, client_id, connection_id, redirect_uri, response_mode, app_state, nonce, scope,
            code_challenge, created_at",
    )
    .bind(tenant_id)
    .bind(state_hash)
    .bind(browser_hash)
    .fetch_optional(db)
    .await
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuthorizationCode {
    pub trace_id: Uuid,
    pub client_id: String,
    pub user_id: String,
    pub connection_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub family_id: Option<Uuid>,
}

/// The upstream identity a login came through.
pub struct LoginIdentity<'a> {
    pub connection_id: &'a str,
    pub connection_name: &'a str,
    pub provider: &'a str,
    pub provider_user_id: &'a str,
    pub profile_data: &'a serde_json::Value,
    pub tokens_sealed: &'a str,
}

/// What a successful callback stores: the user (created, or another login recorded per
/// `policy`), their identity, the application's code and the login event.
pub struct CompletedLogin<'a> {
    pub user_id: &'a str,
    pub attributes: &'a RootAttributes,
    pub policy: RootAttributesPolicy,
    pub identity: LoginIdentity<'a>,
    pub code_hash: &'a [u8],
    pub code: &'a AuthorizationCode,
    pub event: &'a NewEvent,
}

/// What became of a completed login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// The user, identity, code and event are stored.
    Stored,
    /// The user is blocked: nothing was stored (not even the new profile).
    UserBlocked,
}

/// Stores a completed login in one statement: atomic (all of it or none) and one round trip.
/// A blocked user's row is left as it is, and then nothing else is written either.
pub async fn complete(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    login: &CompletedLogin<'_>,
) -> Result<Completion, sqlx::Error> {
    // A brand-new user always gets the attributes; `never_on_login` only protects later logins.
    let overwrite = login.policy == RootAttributesPolicy::OnEachLogin;
    let (attrs, identity, code, event) =
        (login.attributes, &login.identity, login.code, login.event);
    let stored = sqlx::query(
        "WITH u AS (
            INSERT INTO users (tenant_id, user_id, email, name, nickname, given_name, family_name, picture,
                locale, logins_count, last_login)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, now())
            ON CONFLICT (tenant_id, user_id) DO UPDATE SET
                email = CASE WHEN $10 THEN EXCLUDED.email ELSE users.email END,
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
         SELECT $1, $26, $27, $28, $29, $30, user_id, $31, $32, $33, $34, $35 FROM u",
    )
    .bind(tenant_id)
    .bind(login.user_id)
    .bind(&attrs.email)
    .bind(&attrs.name)
    .bind(&attrs.nickname)
    .bind(&attrs.given_name)
    .bind(&attrs.family_name)
    .bind(&attrs.picture)
    .bind(&attrs.locale)
    .bind(overwrite)
    .bind(identity.connection_id)
    .bind(identity.connection_name)
    .bind(identity.provider)
    .bind(identity.provider_user_id)
    .bind(identity.profile_data)
    .bind(identity.tokens_sealed)
    .bind(login.code_hash)
    .bind(code.trace_id)
    .bind(&code.client_id)
    .bind(&code.redirect_uri)
    .bind(&code.scope)
    .bind(&code.nonce)
    .bind(&code.code_challenge)
    .bind(code.auth_time)
    .bind(code.expires_at)
    .bind(Uuid::new_v4())
    .bind(event.event_type)
    .bind(event.trace_id)
    .bind(&event.client_id)
    .bind(&event.connection)
    .bind(&event.actor)
    .bind(&event.description)
    .bind(if event.details.is_null() { serde_json::json!({}) } else { event.details.clone() })
    .bind(&event.requester.ip)
    .bind(&event.requester.user_agent)
    .execute(db)
    .await?;
    // The event is written exactly when the user was (`FROM u`).
    Ok(if stored.rows_affected() == 1 {
        Completion::Stored
    } else {
        Completion::UserBlocked
    })
}

const CODE_COLUMNS: &str =
    "trace_id, client_id, user_id, connection_id, redirect_uri, scope, nonce, \
     code_challenge, auth_time, expires_at, used_at, family_id";

/// Marks the code used and returns it, if it was unused. Exactly one of any number of
/// concurrent redemptions gets `Some`.
pub async fn redeem_code(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    code_hash: &[u8],
    family_id: Uuid,
) -> Result<Option<AuthorizationCode>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE authorization_codes SET used_at = now(), family_id = $3
         WHERE tenant_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING {CODE_COLUMNS}"
    ))
    .bind(tenant_id)
    .bind(code_hash)
    .bind(family_id)
    .fetch_optional(db)
    .await
}

/// What redeeming a code at the token endpoint asks for, and what the request presented.
pub struct Redemption<'a> {
    pub code_hash: &'a [u8],
    /// The family of refresh tokens this redemption starts (and that a replay revokes).
    pub family_id: Uuid,
    /// The refresh token to store if the redemption is valid and the code's scope includes
    /// `offline_access`; `None` when the client may not use refresh tokens.
    pub refresh_token_hash: Option<&'a [u8]>,
    pub refresh_expires_at: DateTime<Utc>,
    /// The authenticated client.
    pub client_id: &'a str,
    /// The `redirect_uri` sent, if any, and whether the client may omit it (it has exactly
    /// one callback URL).
    pub redirect_uri: Option<&'a str>,
    pub redirect_uri_optional: bool,
    /// The S256 of the `code_verifier` sent, if any.
    pub verifier_s256: Option<&'a str>,
    /// The event types recorded for a good and a refused redemption.
    pub redeemed_event: &'static str,
    pub refused_event: &'static str,
    /// Who presented the code (the application's server).
    pub requester: &'a Requester,
}

/// A redeemed code: why it was refused (`None`: it was good), its user and whether a refresh
/// token was stored for it.
pub struct Redeemed {
    pub code: AuthorizationCode,
    pub refused: Option<String>,
    pub user: Option<User>,
    pub refresh_issued: bool,
}

/// Redeems a code in one statement (atomic, and one round trip): spends it if unused (exactly
/// one of any number of concurrent redemptions gets `Some`), checks it against what the
/// request presented, reads its user, stores the refresh token of a good redemption and
/// records the outcome as an event. A code presented wrongly is spent all the same (RFC 6749
/// §4.1.2 wants codes single use, not single *successful* use). `None` if the code is unknown
/// or was already used.
pub async fn redeem(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    redemption: &Redemption<'_>,
) -> Result<Option<Redeemed>, sqlx::Error> {
    // The checks are here rather than in Rust so that their outcome can be stored with the
    // redemption itself. The user is read once (`u`), for the checks and the answer. The code's
    // and the user's columns share only `user_id`, the join key, so both rows decode from the
    // one result row. (Comparing the PKCE challenge need not be
    // constant-time: it is a hash of the secret, and was sent in the clear at /authorize.)
    let row = sqlx::query(&format!(
        "WITH c AS (
            UPDATE authorization_codes SET used_at = now(), family_id = $3
            WHERE tenant_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING {CODE_COLUMNS}
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
         SELECT v.*, u.email, u.email_verified, u.name, u.nickname, u.given_name, u.family_name,
            u.picture, u.locale, u.logins_count, u.last_login, u.created_at, u.updated_at,
            coalesce(u.blocked, false) AS blocked, u.user_id IS NOT NULL AS user_exists,
            EXISTS (SELECT 1 FROM r) AS refresh_issued
         FROM v LEFT JOIN u ON true"
    ))
    .bind(tenant_id)
    .bind(redemption.code_hash)
    .bind(redemption.family_id)
    .bind(redemption.refresh_token_hash)
    .bind(redemption.refresh_expires_at)
    .bind(redemption.client_id)
    .bind(redemption.redirect_uri)
    .bind(redemption.redirect_uri_optional)
    .bind(redemption.verifier_s256)
    .bind(Uuid::new_v4())
    .bind(redemption.redeemed_event)
    .bind(redemption.refused_event)
    .bind(&redemption.requester.ip)
    .bind(&redemption.requester.user_agent)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let user = if row.try_get::<bool, _>("user_exists")? {
        Some(User::from_row(&row)?)
    } else {
        None
    };
    Ok(Some(Redeemed {
        code: AuthorizationCode::from_row(&row)?,
        refused: row.try_get("refused")?,
        user,
        refresh_issued: row.try_get("refresh_issued")?,
    }))
}

/// The code as stored, used or not (to recognise a replay).
pub async fn code(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    code_hash: &[u8],
) -> Result<Option<AuthorizationCode>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CODE_COLUMNS} FROM authorization_codes WHERE tenant_id = $1 AND code_hash = $2"
    ))
    .bind(tenant_id)
    .bind(code_hash)
    .fetch_optional(db)
    .await
}

/// Deletes transactions and codes that expired more than a day ago.
pub async fn purge_expired(db: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    // Expired transactions are kept a day: they count abandoned logins in connection health.
    let a =
        sqlx::query("DELETE FROM login_transactions WHERE expires_at < now() - interval '1 day'")
            .execute(db)
            .await?
            .rows_affected();
    let b =
        sqlx::query("DELETE FROM authorization_codes WHERE expires_at < now() - interval '1 day'")
            .execute(db)
            .await?
            .rows_affected();
    Ok(a + b)
}
