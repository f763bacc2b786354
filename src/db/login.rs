//! Login transactions (between /authorize and /login/callback) and authorization codes
//! (between /login/callback and /oauth/token). Both are single use: they are consumed by one
//! atomic statement, so two racing requests cannot both succeed.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

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

pub async fn insert_code(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    code_hash: &[u8],
    code: &AuthorizationCode,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO authorization_codes (tenant_id, code_hash, trace_id, client_id, user_id, connection_id,
            redirect_uri, scope, nonce, code_challenge, auth_time, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(tenant_id)
    .bind(code_hash)
    .bind(code.trace_id)
    .bind(&code.client_id)
    .bind(&code.user_id)
    .bind(&code.connection_id)
    .bind(&code.redirect_uri)
    .bind(&code.scope)
    .bind(&code.nonce)
    .bind(&code.code_challenge)
    .bind(code.auth_time)
    .bind(code.expires_at)
    .execute(db)
    .await
    .map(|_| ())
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
