//! Per-tenant signing keys, one current key per algorithm in use (private halves sealed).

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct StoredKey {
    pub kid: String,
    /// The one algorithm it signs with (`RS256`, `PS256`, `ES256`).
    pub alg: String,
    pub private_key_sealed: String,
    pub public_jwk: serde_json::Value,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new key to store as the current one for its algorithm.
pub struct NewKey<'a> {
    pub kid: &'a str,
    pub alg: &'a str,
    pub private_key_sealed: &'a str,
    pub public_jwk: &'a serde_json::Value,
}

/// Stores `key` as the current key of its algorithm, unless the tenant has one already
/// (another node made it first); true when stored.
pub async fn insert_current(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    key: &NewKey<'_>,
) -> Result<bool, sqlx::Error> {
    let stored = sqlx::query!(
        "INSERT INTO signing_keys (tenant_id, kid, alg, private_key_sealed, public_jwk, state)
         VALUES ($1, $2, $3, $4, $5, 'current')
         ON CONFLICT (tenant_id, alg) WHERE state = 'current' DO NOTHING",
        tenant_id,
        key.kid,
        key.alg,
        key.private_key_sealed,
        key.public_jwk,
    )
    .execute(db)
    .await?;
    Ok(stored.rows_affected() == 1)
}

/// Marks the current key of `alg` as previous (still published, no longer signing).
pub async fn retire_current(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    alg: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE signing_keys SET state = 'previous', retired_at = now()
         WHERE tenant_id = $1 AND alg = $2 AND state = 'current'",
        tenant_id,
        alg,
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// The key that signs with `alg` now.
pub async fn current(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    alg: &str,
) -> Result<Option<StoredKey>, sqlx::Error> {
    sqlx::query_as!(
        StoredKey,
        "SELECT kid, alg, private_key_sealed, public_jwk, state, created_at, retired_at, revoked_at
         FROM signing_keys WHERE tenant_id = $1 AND alg = $2 AND state = 'current'",
        tenant_id,
        alg,
    )
    .fetch_optional(db)
    .await
}

/// The algorithms the tenant has a current key for.
pub async fn current_algs(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT alg FROM signing_keys WHERE tenant_id = $1 AND state = 'current' ORDER BY alg DESC",
        tenant_id,
    )
    .fetch_all(db)
    .await
}

/// Keys that belong in the JWKS: the current one and those retired less than `keep` ago
/// (longer than any token they signed lives), unless revoked.
pub async fn published(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    keep: chrono::Duration,
) -> Result<Vec<StoredKey>, sqlx::Error> {
    sqlx::query_as!(
        StoredKey,
        "SELECT kid, alg, private_key_sealed, public_jwk, state, created_at, retired_at, revoked_at
         FROM signing_keys
         WHERE tenant_id = $1
           AND (state = 'current' OR (state = 'previous' AND retired_at > now() - make_interval(secs => $2)))
         ORDER BY created_at DESC",
        tenant_id,
        keep.num_seconds() as f64,
    )
    .fetch_all(db)
    .await
}

pub async fn all(db: impl PgExecutor<'_>, tenant_id: Uuid) -> Result<Vec<StoredKey>, sqlx::Error> {
    sqlx::query_as!(
        StoredKey,
        "SELECT kid, alg, private_key_sealed, public_jwk, state, created_at, retired_at, revoked_at
         FROM signing_keys WHERE tenant_id = $1 ORDER BY created_at DESC",
        tenant_id,
    )
    .fetch_all(db)
    .await
}

/// What revoking a key did.
#[derive(Clone, Debug)]
pub enum Revocation {
    /// Revoked now (it was a previous key).
    Revoked(StoredKey),
    /// It was revoked before: nothing changed.
    AlreadyRevoked(StoredKey),
    /// It is the current key, which signs: rotate first.
    Current,
    /// The tenant has no key of that id.
    Unknown,
}

/// Revokes a previous key: it leaves the JWKS and verifies nothing from now on.
pub async fn revoke(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    tenant_id: Uuid,
    kid: &str,
) -> Result<Revocation, sqlx::Error> {
    let revoked = sqlx::query_as!(
        StoredKey,
        "UPDATE signing_keys SET state = 'revoked', revoked_at = now()
         WHERE tenant_id = $1 AND kid = $2 AND state = 'previous'
         RETURNING kid, alg, private_key_sealed, public_jwk, state, created_at, retired_at, revoked_at",
        tenant_id,
        kid,
    )
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(key) = revoked {
        return Ok(Revocation::Revoked(key));
    }
    let key = sqlx::query_as!(
        StoredKey,
        "SELECT kid, alg, private_key_sealed, public_jwk, state, created_at, retired_at, revoked_at
         FROM signing_keys WHERE tenant_id = $1 AND kid = $2",
        tenant_id,
        kid,
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match key {
        None => Revocation::Unknown,
        Some(k) if k.state == "current" => Revocation::Current,
        Some(k) => Revocation::AlreadyRevoked(k),
    })
}
