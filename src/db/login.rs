//! Login transactions (between /authorize and /login/callback) and authorization codes
//! (between /login/callback and /oauth/token). Both are single use: they are consumed by one
//! atomic statement, so two racing requests cannot both succeed.
//!
//! The writes of a login are few statements on purpose: each is a round trip to PostgreSQL on
//! the login's path, and those round trips, not the SQL, are most of the database's cost.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::db::events::NewEvent;
use crate::db::users::{RootAttributes, RootAttributesPolicy, User};
use crate::domain::Requester;

#[derive(Clone, Debug)]
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
    /// The strategy's memo of this login (nonce, PKCE verifier), sealed.
    pub upstream_sealed: Option<String>,
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
    sqlx::query!(
        "INSERT INTO login_transactions (tenant_id, state_hash, browser_hash, trace_id, client_id, connection_id,
            redirect_uri, response_mode, app_state, nonce, scope, code_challenge, created_at, expires_at, upstream_sealed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT DO NOTHING",
        tenant_id,
        new.state_hash,
        new.browser_hash,
        t.trace_id,
        t.client_id,
        t.connection_id,
        t.redirect_uri,
        t.response_mode,
        t.app_state.as_deref(),
        t.nonce.as_deref(),
        t.scope,
        t.code_challenge.as_deref(),
        t.created_at,
        new.expires_at,
        t.upstream_sealed.as_deref(),
    )
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
    taken_by: Uuid,
) -> Result<Option<LoginTransaction>, sqlx::Error> {
    // Taken, not deleted: a repeat by the same attempt (its answer lost in a failover) takes it
    // again, any other request finds it gone. It is kept a minute for that repeat, then purged.
    sqlx::query_as!(
        LoginTransaction,
        "UPDATE login_transactions SET taken_by = $4, expires_at = now() + interval '1 minute'
         WHERE tenant_id = $1 AND state_hash = $2 AND browser_hash = $3 AND expires_at > now()
           AND (taken_by IS NULL OR taken_by = $4)
         RETURNING trace_id, client_id, connection_id, redirect_uri, response_mode, app_state, nonce, scope,
            code_challenge, created_at, upstream_sealed",
        tenant_id,
        state_hash,
        browser_hash,
        taken_by,
    )
    .fetch_optional(db)
    .await
}

#[derive(Clone, Debug)]
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
    let stored = sqlx::query_file!(
        "src/db/sql/login_complete.sql",
        tenant_id,
        // $2..$10: the user, its root attributes, and whether they replace an existing user's.
        login.user_id,
        attrs.email.as_deref(),
        attrs.name.as_deref(),
        attrs.nickname.as_deref(),
        attrs.given_name.as_deref(),
        attrs.family_name.as_deref(),
        attrs.picture.as_deref(),
        attrs.locale.as_deref(),
        overwrite,
        // $11..$16: the identity ($11, the connection, is the code's too).
        identity.connection_id,
        identity.connection_name,
        identity.provider,
        identity.provider_user_id,
        identity.profile_data,
        identity.tokens_sealed,
        // $17..$25: the code.
        login.code_hash,
        code.trace_id,
        code.client_id,
        code.redirect_uri,
        code.scope,
        code.nonce.as_deref(),
        code.code_challenge.as_deref(),
        code.auth_time,
        code.expires_at,
        // $26..$35: the event.
        Uuid::new_v4(),
        event.event_type,
        event.trace_id,
        event.client_id.as_deref(),
        event.connection.as_deref(),
        event.actor.as_deref(),
        event.description,
        event.stored_details(),
        event.requester.ip.as_deref(),
        event.requester.user_agent.as_deref(),
        // $36
        attrs.email_verified,
    )
    .execute(db)
    .await?;
    // The event is written exactly when the user was (`FROM u`).
    Ok(if stored.rows_affected() == 1 {
        Completion::Stored
    } else {
        Completion::UserBlocked
    })
}

/// Marks the code used and returns it, if it was unused. Exactly one of any number of
/// concurrent redemptions gets `Some`.
pub async fn redeem_code(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    code_hash: &[u8],
    family_id: Uuid,
) -> Result<Option<AuthorizationCode>, sqlx::Error> {
    sqlx::query_as!(
        AuthorizationCode,
        "UPDATE authorization_codes SET used_at = now(), family_id = $3
         WHERE tenant_id = $1 AND code_hash = $2 AND used_at IS NULL
         RETURNING trace_id, client_id, user_id, connection_id, redirect_uri, scope, nonce,
            code_challenge, auth_time, expires_at, used_at, family_id",
        tenant_id,
        code_hash,
        family_id,
    )
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
    /// What a repeat of this redemption gets back (the refresh token, or nothing), sealed for
    /// the holder of the code.
    pub answer_sealed: &'a str,
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
    let row = sqlx::query_file!(
        "src/db/sql/login_redeem.sql",
        tenant_id,
        redemption.code_hash,
        redemption.family_id,
        redemption.refresh_token_hash,
        redemption.refresh_expires_at,
        redemption.client_id,
        redemption.redirect_uri,
        redemption.redirect_uri_optional,
        redemption.verifier_s256,
        Uuid::new_v4(),
        redemption.redeemed_event,
        redemption.refused_event,
        redemption.requester.ip.as_deref(),
        redemption.requester.user_agent.as_deref(),
        redemption.answer_sealed,
    )
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    // The user's columns that are never null in `users` are all null exactly when the user is
    // gone (the LEFT JOIN found no row).
    let user = match (
        row.email_verified,
        row.logins_count,
        row.user_created_at,
        row.user_updated_at,
        row.blocked,
    ) {
        (
            Some(email_verified),
            Some(logins_count),
            Some(created_at),
            Some(updated_at),
            Some(blocked),
        ) => Some(User {
            user_id: row.user_id.clone(),
            email: row.email,
            email_verified,
            name: row.name,
            nickname: row.nickname,
            given_name: row.given_name,
            family_name: row.family_name,
            picture: row.picture,
            locale: row.locale,
            logins_count,
            last_login: row.last_login,
            created_at,
            updated_at,
            blocked,
        }),
        _ => None,
    };
    Ok(Some(Redeemed {
        code: AuthorizationCode {
            trace_id: row.trace_id,
            client_id: row.client_id,
            user_id: row.user_id,
            connection_id: row.connection_id,
            redirect_uri: row.redirect_uri,
            scope: row.scope,
            nonce: row.nonce,
            code_challenge: row.code_challenge,
            auth_time: row.auth_time,
            expires_at: row.expires_at,
            used_at: row.used_at,
            family_id: row.family_id,
        },
        refused: row.refused,
        user,
        refresh_issued: row.refresh_issued,
    }))
}

/// The code as stored, used or not (to recognise a replay).
pub async fn code(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    code_hash: &[u8],
) -> Result<Option<AuthorizationCode>, sqlx::Error> {
    sqlx::query_as!(
        AuthorizationCode,
        "SELECT trace_id, client_id, user_id, connection_id, redirect_uri, scope, nonce,
            code_challenge, auth_time, expires_at, used_at, family_id
         FROM authorization_codes WHERE tenant_id = $1 AND code_hash = $2",
        tenant_id,
        code_hash,
    )
    .fetch_optional(db)
    .await
}

/// What a used code's redemption left for a repeat of itself (see `Redemption::answer_sealed`).
pub async fn redemption_answer(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    code_hash: &[u8],
) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        "SELECT answer_sealed FROM authorization_codes WHERE tenant_id = $1 AND code_hash = $2",
        tenant_id,
        code_hash,
    )
    .fetch_optional(db)
    .await?
    .flatten())
}

/// Deletes transactions and codes that expired more than a day ago.
pub async fn purge_expired(db: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    // Expired transactions are kept a day: they count abandoned logins in connection health.
    // Taken ones counted nothing, and go once their minute for a repeat is over.
    let a = sqlx::query!(
        "DELETE FROM login_transactions WHERE expires_at < now() - interval '1 day'
            OR (taken_by IS NOT NULL AND expires_at < now())"
    )
    .execute(db)
    .await?
    .rows_affected();
    let b =
        sqlx::query!("DELETE FROM authorization_codes WHERE expires_at < now() - interval '1 day'")
            .execute(db)
            .await?
            .rows_affected();
    Ok(a + b)
}
