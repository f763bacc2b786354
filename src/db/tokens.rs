//! Refresh tokens: stored as hashes, rotated on every use, revoked by family on reuse.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, Postgres, Transaction};
use uuid::Uuid;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RefreshToken {
    pub family_id: Uuid,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub auth_time: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[allow(clippy::too_many_arguments)]
pub async fn insert(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    token_hash: &[u8],
    family_id: Uuid,
    client_id: &str,
    user_id: &str,
    scope: &str,
    auth_time: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO refresh_tokens (tenant_id, token_hash, family_id, client_id, user_id, scope, auth_time, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant_id)
    .bind(token_hash)
    .bind(family_id)
    .bind(client_id)
    .bind(user_id)
    .bind(scope)
    .bind(auth_time)
    .bind(expires_at)
    .execute(db)
    .await
    .map(|_| ())
}

/// Marks the token rotated if it is live; returns it with what it was before (so a rotated or
/// revoked token can be told apart from an unknown one).
pub async fn rotate(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: Uuid,
    token_hash: &[u8],
) -> Result<Option<RefreshToken>, sqlx::Error> {
    // Lock the row so two concurrent uses of one token serialise: the second sees it rotated.
    let token: Option<RefreshToken> = sqlx::query_as(
        "SELECT family_id, client_id, user_id, scope, auth_time, expires_at, rotated_at, revoked_at
         FROM refresh_tokens WHERE tenant_id = $1 AND token_hash = $2 FOR UPDATE",
    )
    .bind(tenant_id)
    .bind(token_hash)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(t) = &token {
        if t.rotated_at.is_none() && t.revoked_at.is_none() {
            sqlx::query("UPDATE refresh_tokens SET rotated_at = now() WHERE tenant_id = $1 AND token_hash = $2")
                .bind(tenant_id)
                .bind(token_hash)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(token)
}

pub async fn revoke_family(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    family_id: Uuid,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE tenant_id = $1 AND family_id = $2 AND revoked_at IS NULL",
    )
    .bind(tenant_id)
    .bind(family_id)
    .execute(db)
    .await?
    .rows_affected())
}

/// Revokes every refresh token of a user (on user deletion, logout everywhere).
pub async fn revoke_user(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    user_id: &str,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL",
    )
    .bind(tenant_id)
    .bind(user_id)
    .execute(db)
    .await?
    .rows_affected())
}
