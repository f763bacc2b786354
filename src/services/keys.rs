//! The tenants' signing keys: creation, rotation and revocation. Parsed keys are cached per node in
//! `cache::ConfigCache`, so a private key is opened and parsed once, not once per token.

use super::Actor;
use anyhow::Context;
use uuid::Uuid;

use crate::crypto::seal::{SealContext, Sealer};
use crate::crypto::signing::generate_key;
use crate::db;

/// Generates a key on the blocking pool and stores it as the tenant's current key.
pub async fn create_current(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    sealer: &Sealer,
    tenant_id: Uuid,
) -> anyhow::Result<String> {
    let generated = tokio::task::spawn_blocking(generate_key)
        .await
        .context("key generation task")?;
    let sealed = sealer.seal(
        &generated.pkcs8_der,
        &SealContext::signing_key(tenant_id, &generated.kid),
    );
    db::signing_keys::insert_current(
        &mut **tx,
        tenant_id,
        &generated.kid,
        &sealed,
        &generated.public_jwk,
    )
    .await?;
    Ok(generated.kid)
}

/// Rotates: the current key becomes previous (still published), a new key signs from now on.
pub async fn rotate(
    pool: &sqlx::PgPool,
    sealer: &Sealer,
    tenant_id: Uuid,
) -> anyhow::Result<String> {
    let mut tx = pool.begin().await?;
    db::signing_keys::retire_current(&mut *tx, tenant_id).await?;
    let kid = create_current(&mut tx, sealer, tenant_id).await?;
    tx.commit().await?;
    Ok(kid)
}

/// Rotates and records who did it in the tenant's log.
pub async fn rotate_by(
    pool: &sqlx::PgPool,
    sealer: &Sealer,
    tenant_id: Uuid,
    actor: &Actor,
) -> anyhow::Result<String> {
    let mut tx = pool.begin().await?;
    let kid = rotate_by_in(&mut tx, sealer, tenant_id, actor).await?;
    tx.commit().await?;
    Ok(kid)
}

/// [`rotate_by`] inside the caller's transaction, which commits it.
pub async fn rotate_by_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    sealer: &Sealer,
    tenant_id: Uuid,
    actor: &Actor,
) -> anyhow::Result<String> {
    db::signing_keys::retire_current(&mut **tx, tenant_id).await?;
    let kid = create_current(tx, sealer, tenant_id).await?;
    db::events::record(
        &mut **tx,
        tenant_id,
        &db::events::NewEvent {
            event_type: "signing_key_rotated",
            description: format!("signing key rotated; {kid} signs from now on"),
            details: serde_json::json!({ "kid": kid }),
            ..Default::default()
        }
        .by(actor),
    )
    .await?;
    Ok(kid)
}

/// Revokes a previous key and records who did it; the change reaches every node's cache through
/// the table's notification, so no node verifies with the key once this returns.
pub async fn revoke_by(
    pool: &sqlx::PgPool,
    tenant_id: Uuid,
    kid: &str,
    actor: &Actor,
) -> Result<db::signing_keys::Revocation, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let outcome = db::signing_keys::revoke(&mut tx, tenant_id, kid).await?;
    if let db::signing_keys::Revocation::Revoked(key) = &outcome {
        db::events::record(
            &mut *tx,
            tenant_id,
            &db::events::NewEvent {
                event_type: "signing_key_revoked",
                description: format!(
                    "signing key {} revoked; tokens it signed no longer verify",
                    key.kid
                ),
                details: serde_json::json!({ "kid": key.kid }),
                ..Default::default()
            }
            .by(actor),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(outcome)
}
