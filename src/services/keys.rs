//! The tenants' signing keys: creation, rotation and revocation. Parsed keys are cached per node in
//! `cache::ConfigCache`, so a private key is opened and parsed once, not once per token.

use super::Actor;
use anyhow::Context;
use uuid::Uuid;

use crate::crypto::seal::{SealContext, Sealer};
use crate::crypto::signing::{generate_key, SigningAlg};
use crate::db;
use crate::domain::FieldError;

/// Generates a key for `alg` on the blocking pool and stores it as the tenant's current key
/// for that algorithm (unless another node stored one first: then that one is current).
pub async fn create_current(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    sealer: &Sealer,
    tenant_id: Uuid,
    alg: SigningAlg,
) -> anyhow::Result<String> {
    let generated = tokio::task::spawn_blocking(move || generate_key(alg))
        .await
        .context("key generation task")?;
    let sealed = sealer.seal(
        &generated.pkcs8_der,
        &SealContext::signing_key(tenant_id, &generated.kid),
    );
    let key = db::signing_keys::NewKey {
        kid: &generated.kid,
        alg: alg.as_str(),
        private_key_sealed: &sealed,
        public_jwk: &generated.public_jwk,
    };
    db::signing_keys::insert_current(&mut **tx, tenant_id, &key).await?;
    Ok(generated.kid)
}

/// Makes sure the tenant has a current key for `alg`: the first token an application set to
/// a new algorithm gets makes it (a tenant keeps a key for each algorithm in use).
pub async fn ensure_current(
    pool: &sqlx::PgPool,
    sealer: &Sealer,
    tenant_id: Uuid,
    alg: SigningAlg,
) -> anyhow::Result<()> {
    if db::signing_keys::current(pool, tenant_id, alg.as_str())
        .await?
        .is_some()
    {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    create_current(&mut tx, sealer, tenant_id, alg).await?;
    tx.commit().await?;
    Ok(())
}

/// Rotates every algorithm in use: each current key becomes previous (still published), a new
/// key of its algorithm signs from now on. Returns the new keys' ids, by algorithm.
async fn rotate_all(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    sealer: &Sealer,
    tenant_id: Uuid,
) -> anyhow::Result<Vec<(SigningAlg, String)>> {
    let mut algs: Vec<SigningAlg> = db::signing_keys::current_algs(&mut **tx, tenant_id)
        .await?
        .iter()
        .filter_map(|a| SigningAlg::parse(a))
        .collect();
    if algs.is_empty() {
        algs.push(SigningAlg::Rs256);
    }
    let mut kids = Vec::new();
    for alg in algs {
        db::signing_keys::retire_current(&mut **tx, tenant_id, alg.as_str()).await?;
        kids.push((alg, create_current(tx, sealer, tenant_id, alg).await?));
    }
    Ok(kids)
}

/// Rotates and records who did it in the tenant's log.
pub async fn rotate_by(
    pool: &sqlx::PgPool,
    sealer: &Sealer,
    tenant_id: Uuid,
    actor: &Actor,
) -> anyhow::Result<Vec<(SigningAlg, String)>> {
    let mut tx = pool.begin().await?;
    let kids = rotate_by_in(&mut tx, sealer, tenant_id, actor).await?;
    tx.commit().await?;
    Ok(kids)
}

/// [`rotate_by`] inside the caller's transaction, which commits it.
pub async fn rotate_by_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    sealer: &Sealer,
    tenant_id: Uuid,
    actor: &Actor,
) -> anyhow::Result<Vec<(SigningAlg, String)>> {
    let kids = rotate_all(tx, sealer, tenant_id).await?;
    let named: Vec<String> = kids.iter().map(|(a, k)| format!("{k} ({a})")).collect();
    db::events::record(
        &mut **tx,
        tenant_id,
        &db::events::NewEvent {
            event_type: "signing_key_rotated",
            description: format!("signing keys rotated; {} sign from now on", named.join(", ")),
            details: serde_json::json!({
                "kid": kids[0].1,
                "keys": kids.iter().map(|(a, k)| serde_json::json!({"alg": a.as_str(), "kid": k})).collect::<Vec<_>>(),
            }),
            ..Default::default()
        }
        .by(actor),
    )
    .await?;
    Ok(kids)
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

/// Sets the tenant's default signing algorithm (for applications that name none), making its
/// current key if the tenant has none for it yet, and records the change. `Err` inside: not an
/// algorithm Gatehouse signs with.
pub async fn set_default_alg(
    pool: &sqlx::PgPool,
    sealer: &Sealer,
    tenant_id: Uuid,
    name: &str,
    actor: &Actor,
) -> anyhow::Result<Result<SigningAlg, FieldError>> {
    let alg = match crate::services::clients::signing_alg("signing_alg", name) {
        Ok(alg) => SigningAlg::parse(&alg).expect("a validated algorithm"),
        Err(e) => return Ok(Err(e)),
    };
    let mut tx = pool.begin().await?;
    let before = db::tenants::by_id(&mut *tx, tenant_id)
        .await?
        .context("no such tenant")?;
    db::tenants::set_signing_alg(&mut *tx, tenant_id, alg.as_str()).await?;
    if db::signing_keys::current(&mut *tx, tenant_id, alg.as_str())
        .await?
        .is_none()
    {
        create_current(&mut tx, sealer, tenant_id, alg).await?;
    }
    db::events::record(
        &mut *tx,
        tenant_id,
        &db::events::NewEvent {
            event_type: "tenant_updated",
            description: format!(
                "default signing algorithm {} → {alg}",
                before.signing_alg
            ),
            details: serde_json::json!({
                "changes": [{ "field": "signing_alg", "from": before.signing_alg, "to": alg.as_str() }],
            }),
            ..Default::default()
        }
        .by(actor),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(alg))
}
