//! Refresh tokens: stored as hashes, rotated on every use, revoked by family on reuse.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, Postgres, Transaction};
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct RefreshToken {
    pub family_id: Uuid,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub auth_time: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// What the rotation replaced it with, sealed for the holder of this token.
    pub successor_sealed: Option<String>,
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
    sqlx::query!(
        "INSERT INTO refresh_tokens (tenant_id, token_hash, family_id, client_id, user_id, scope, auth_time, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        tenant_id,
        token_hash,
        family_id,
        client_id,
        user_id,
        scope,
        auth_time,
        expires_at,
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// Marks the token rotated if it is live, keeping `successor_sealed` (the token that replaces
/// it, sealed for this token's holder); returns it with what it was before (so a rotated or
/// revoked token can be told apart from an unknown one).
pub async fn rotate(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: Uuid,
    token_hash: &[u8],
    successor_sealed: &str,
) -> Result<Option<RefreshToken>, sqlx::Error> {
    // Lock the row so two concurrent uses of one token serialise: the second sees it rotated.
    let token = find_for_update(tx, tenant_id, token_hash).await?;
    if let Some(t) = &token {
        if t.rotated_at.is_none() && t.revoked_at.is_none() {
            sqlx::query!(
                "UPDATE refresh_tokens SET rotated_at = now(), successor_sealed = $3
                 WHERE tenant_id = $1 AND token_hash = $2",
                tenant_id,
                token_hash,
                successor_sealed,
            )
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(token)
}

/// The token, locked until the transaction ends.
pub async fn find_for_update(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: Uuid,
    token_hash: &[u8],
) -> Result<Option<RefreshToken>, sqlx::Error> {
    sqlx::query_as!(
        RefreshToken,
        "SELECT family_id, client_id, user_id, scope, auth_time, expires_at, rotated_at,
            revoked_at, successor_sealed
         FROM refresh_tokens WHERE tenant_id = $1 AND token_hash = $2 FOR UPDATE",
        tenant_id,
        token_hash,
    )
    .fetch_optional(&mut **tx)
    .await
}

/// The token as stored, if it is.
pub async fn find(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    token_hash: &[u8],
) -> Result<Option<RefreshToken>, sqlx::Error> {
    sqlx::query_as!(
        RefreshToken,
        "SELECT family_id, client_id, user_id, scope, auth_time, expires_at, rotated_at,
            revoked_at, successor_sealed
         FROM refresh_tokens WHERE tenant_id = $1 AND token_hash = $2",
        tenant_id,
        token_hash,
    )
    .fetch_optional(db)
    .await
}

pub async fn revoke_family(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    family_id: Uuid,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE tenant_id = $1 AND family_id = $2 AND revoked_at IS NULL",
        tenant_id,
        family_id,
    )
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
    Ok(sqlx::query!(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL",
        tenant_id,
        user_id,
    )
    .execute(db)
    .await?
    .rows_affected())
}

/// What revoking a presented refresh token did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// No such token (unknown, or long deleted): nothing to do.
    Unknown,
    /// The token belongs to another application, which alone may revoke it.
    OtherClient,
    /// The token's grant is revoked; `live` is how many usable tokens that ended (0 when the
    /// grant had already ended: revoked before, or expired).
    Revoked { user_id: String, live: i64 },
}

/// Revokes the grant a refresh token belongs to, if it was issued to `client_id`: as at Auth0,
/// every refresh token of that user for that application (the token's own family, its
/// rotations, and the user's other sessions in the application; RFC 7009 §2.1 leaves the
/// grant's extent to the server). One statement.
pub async fn revoke_presented(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    token_hash: &[u8],
    client_id: &str,
) -> Result<Revocation, sqlx::Error> {
    // `t`'s columns come through a CTE, so PostgreSQL cannot say they are never null.
    let row = sqlx::query!(
        r#"WITH t AS (
             SELECT client_id, user_id FROM refresh_tokens WHERE tenant_id = $1 AND token_hash = $2
         ), r AS (
             UPDATE refresh_tokens SET revoked_at = now()
             WHERE tenant_id = $1 AND client_id = $3 AND user_id = (SELECT user_id FROM t)
               AND (SELECT client_id FROM t) = $3 AND revoked_at IS NULL
             RETURNING rotated_at, expires_at
         )
         SELECT t.client_id AS "owner!", t.user_id AS "user_id!",
             (SELECT count(*) FROM r WHERE rotated_at IS NULL AND expires_at > now()) AS "live!"
         FROM t"#,
        tenant_id,
        token_hash,
        client_id,
    )
    .fetch_optional(db)
    .await?;
    Ok(match row {
        None => Revocation::Unknown,
        Some(r) if r.owner != client_id => Revocation::OtherClient,
        Some(r) => Revocation::Revoked {
            user_id: r.user_id,
            live: r.live,
        },
    })
}
