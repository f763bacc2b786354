//! Dashboard sessions (only the hash of the cookie value is stored), the failed sign-ins that
//! throttle guessing, and the "Try" logins in flight. All of it lives in PostgreSQL so any node
//! can serve any request.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

/// A live session with the admin it belongs to.
#[derive(Clone, Debug)]
pub struct LiveSession {
    pub admin_id: Uuid,
    pub email: String,
    pub is_operator: bool,
    pub csrf_token: String,
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    session_hash: &[u8],
    admin_id: Uuid,
    csrf_token: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO admin_sessions (session_hash, admin_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)",
        session_hash,
        admin_id,
        csrf_token,
        expires_at,
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// The session if it has neither passed its absolute expiry nor been idle longer than
/// `idle_seconds`; marks it as seen now.
pub async fn touch(
    db: impl PgExecutor<'_>,
    session_hash: &[u8],
    idle_seconds: i64,
) -> Result<Option<LiveSession>, sqlx::Error> {
    sqlx::query_as!(
        LiveSession,
        "UPDATE admin_sessions s SET last_seen_at = now() FROM admins a
         WHERE s.session_hash = $1 AND a.admin_id = s.admin_id AND s.expires_at > now()
           AND s.last_seen_at > now() - make_interval(secs => $2)
         RETURNING a.admin_id, a.email, a.is_operator, s.csrf_token",
        session_hash,
        idle_seconds as f64,
    )
    .fetch_optional(db)
    .await
}

pub async fn delete(db: impl PgExecutor<'_>, session_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM admin_sessions WHERE session_hash = $1",
        session_hash
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// Ends every session of an admin (removal, password change).
pub async fn delete_for_admin(db: impl PgExecutor<'_>, admin_id: Uuid) -> Result<u64, sqlx::Error> {
    sqlx::query!("DELETE FROM admin_sessions WHERE admin_id = $1", admin_id)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}

/// Deletes sessions past their absolute or idle expiry, and finished "Try" logins.
pub async fn purge_expired(db: &sqlx::PgPool, idle_seconds: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM admin_sessions WHERE expires_at < now() OR last_seen_at < now() - make_interval(secs => $1)",
        idle_seconds as f64,
    )
    .execute(db)
    .await?;
    sqlx::query!("DELETE FROM try_attempts WHERE expires_at < now()")
        .execute(db)
        .await?;
    Ok(())
}

/// Failed sign-ins for `key` within the last `window_seconds`: how many, and when the oldest
/// of them happened.
pub async fn recent_failures(
    db: impl PgExecutor<'_>,
    key: &str,
    window_seconds: i64,
) -> Result<(i64, Option<DateTime<Utc>>), sqlx::Error> {
    let r = sqlx::query!(
        r#"SELECT count(*) AS "failures!", min(at) AS oldest FROM signin_attempts
           WHERE key = $1 AND at > now() - make_interval(secs => $2)"#,
        key,
        window_seconds as f64,
    )
    .fetch_one(db)
    .await?;
    Ok((r.failures, r.oldest))
}

/// Records a failed sign-in under `key`, forgetting those older than the window.
pub async fn record_failure(
    db: &sqlx::PgPool,
    key: &str,
    window_seconds: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!("INSERT INTO signin_attempts (key) VALUES ($1)", key)
        .execute(db)
        .await?;
    sqlx::query!(
        "DELETE FROM signin_attempts WHERE key = $1 AND at < now() - make_interval(secs => $2)",
        key,
        window_seconds as f64,
    )
    .execute(db)
    .await
    .map(|_| ())
}

pub async fn clear_failures(db: impl PgExecutor<'_>, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM signin_attempts WHERE key = $1", key)
        .execute(db)
        .await
        .map(|_| ())
}

/// A "Try" login between the dashboard and `/tester/callback`.
#[derive(Clone, Debug)]
pub struct TryAttempt {
    pub tenant_id: Uuid,
    pub connection_id: String,
    pub code_verifier: String,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_try(
    db: impl PgExecutor<'_>,
    state_hash: &[u8],
    session_hash: &[u8],
    attempt: &TryAttempt,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO try_attempts (state_hash, session_hash, tenant_id, connection_id, code_verifier, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        state_hash,
        session_hash,
        attempt.tenant_id,
        attempt.connection_id,
        attempt.code_verifier,
        attempt.created_at,
        expires_at,
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// Consumes the unexpired attempt for this state *and this session*: single use, and useless
/// to anyone but the admin who pressed "Try".
pub async fn take_try(
    db: impl PgExecutor<'_>,
    state_hash: &[u8],
    session_hash: &[u8],
) -> Result<Option<TryAttempt>, sqlx::Error> {
    sqlx::query_as!(
        TryAttempt,
        "DELETE FROM try_attempts WHERE state_hash = $1 AND session_hash = $2 AND expires_at > now()
         RETURNING tenant_id, connection_id, code_verifier, created_at",
        state_hash,
        session_hash,
    )
    .fetch_optional(db)
    .await
}
