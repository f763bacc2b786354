//! Users of a tenant and their upstream identities.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, Postgres, Transaction};
use uuid::Uuid;

#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize)]
pub struct User {
    pub user_id: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub nickname: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub picture: Option<String>,
    pub locale: Option<String>,
    pub logins_count: i32,
    pub last_login: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Refused at every step of a login and at token refresh until unblocked.
    pub blocked: bool,
}

#[derive(Clone, Debug)]
pub struct Identity {
    pub user_id: String,
    pub connection_id: String,
    pub connection_name: String,
    pub provider: String,
    pub provider_user_id: String,
    pub profile_data: serde_json::Value,
}

/// The root attributes a login writes.
#[derive(Clone, Debug, Default)]
pub struct RootAttributes {
    pub email: Option<String>,
    /// Only ever true when the upstream said so.
    pub email_verified: bool,
    pub name: Option<String>,
    pub nickname: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub picture: Option<String>,
    pub locale: Option<String>,
}

/// When an existing user's root attributes are overwritten by a login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootAttributesPolicy {
    OnEachLogin,
    OnFirstLogin,
    NeverOnLogin,
}

pub async fn by_id(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    user_id: &str,
) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as!(
        User,
        "SELECT user_id, email, email_verified, name, nickname, given_name, family_name,
                picture, locale, logins_count, last_login, created_at, updated_at, blocked
         FROM users WHERE tenant_id = $1 AND user_id = $2",
        tenant_id,
        user_id,
    )
    .fetch_optional(db)
    .await
}

pub async fn identities(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    user_id: &str,
) -> Result<Vec<Identity>, sqlx::Error> {
    sqlx::query_as!(
        Identity,
        "SELECT user_id, connection_id, connection_name, provider, provider_user_id, profile_data
         FROM identities WHERE tenant_id = $1 AND user_id = $2 ORDER BY connection_name",
        tenant_id,
        user_id,
    )
    .fetch_all(db)
    .await
}

/// A page of users, newest first, optionally only those whose e-mail matches exactly
/// (case-insensitively); with the total.
pub async fn page(
    db: &sqlx::PgPool,
    tenant_id: Uuid,
    email: Option<&str>,
    offset: i64,
    limit: i64,
) -> Result<Vec<User>, sqlx::Error> {
    sqlx::query_as!(
        User,
        "SELECT user_id, email, email_verified, name, nickname, given_name, family_name,
                picture, locale, logins_count, last_login, created_at, updated_at, blocked
         FROM users WHERE tenant_id = $1 AND ($2::text IS NULL OR lower(email) = lower($2))
         ORDER BY created_at DESC, user_id OFFSET $3 LIMIT $4",
        tenant_id,
        email,
        offset,
        limit,
    )
    .fetch_all(db)
    .await
}

/// How many users there are, or have this e-mail (case-insensitively).
pub async fn count(
    db: &sqlx::PgPool,
    tenant_id: Uuid,
    email: Option<&str>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM users
           WHERE tenant_id = $1 AND ($2::text IS NULL OR lower(email) = lower($2))"#,
        tenant_id,
        email,
    )
    .fetch_one(db)
    .await
}

/// Deletes the user; answers when they signed up (`None`: there was no such user).
pub async fn delete(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    user_id: &str,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar!(
        "DELETE FROM users WHERE tenant_id = $1 AND user_id = $2 RETURNING created_at",
        tenant_id,
        user_id,
    )
    .fetch_optional(db)
    .await
}

/// The identities of several users at once (for listings).
pub async fn identities_of(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    user_ids: &[String],
) -> Result<Vec<Identity>, sqlx::Error> {
    sqlx::query_as!(
        Identity,
        "SELECT user_id, connection_id, connection_name, provider, provider_user_id, profile_data
         FROM identities WHERE tenant_id = $1 AND user_id = ANY($2) ORDER BY connection_name",
        tenant_id,
        user_ids,
    )
    .fetch_all(db)
    .await
}

/// Blocks or unblocks a user; the updated user.
pub async fn set_blocked(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    user_id: &str,
    blocked: bool,
) -> Result<User, sqlx::Error> {
    sqlx::query_as!(
        User,
        "UPDATE users SET blocked = $3, updated_at = now() WHERE tenant_id = $1 AND user_id = $2
         RETURNING user_id, email, email_verified, name, nickname, given_name, family_name,
                   picture, locale, logins_count, last_login, created_at, updated_at, blocked",
        tenant_id,
        user_id,
        blocked,
    )
    .fetch_one(db)
    .await
}

/// Locks the user's row for a change in this transaction.
pub async fn lock(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: Uuid,
    user_id: &str,
) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as!(
        User,
        "SELECT user_id, email, email_verified, name, nickname, given_name, family_name,
                picture, locale, logins_count, last_login, created_at, updated_at, blocked
         FROM users WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE",
        tenant_id,
        user_id,
    )
    .fetch_optional(&mut **tx)
    .await
}
