//! The tenants' signing keys: creation, rotation, and a ring of parsed keys in memory so a
//! private key is opened and parsed once per node, not once per token.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use anyhow::Context;
use uuid::Uuid;

use crate::crypto::seal::{SealContext, Sealer};
use crate::crypto::signing::{generate_key, SigningKey};
use crate::db;

/// How long a retired key stays in the JWKS: longer than any token it signed lives.
pub fn retired_key_retention() -> chrono::Duration {
    chrono::Duration::hours(25)
}

pub fn seal_context(tenant_id: Uuid, kid: &str) -> SealContext {
    SealContext::new(tenant_id, &format!("signing_key:{kid}:private_key"))
}

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
        &seal_context(tenant_id, &generated.kid),
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

/// Parsed private keys by (tenant, kid). A kid never changes meaning, so entries never go stale;
/// which kid is current is always read from the database.
#[derive(Default)]
pub struct KeyRing {
    parsed: RwLock<HashMap<(Uuid, String), Arc<SigningKey>>>,
}

impl KeyRing {
    pub async fn current(
        &self,
        pool: &sqlx::PgPool,
        sealer: &Sealer,
        tenant_id: Uuid,
    ) -> anyhow::Result<Arc<SigningKey>> {
        let stored = db::signing_keys::current(pool, tenant_id)
            .await?
            .context("tenant has no current signing key")?;
        let cache_key = (tenant_id, stored.kid.clone());
        if let Some(key) = self.parsed.read().expect("key ring lock").get(&cache_key) {
            return Ok(key.clone());
        }
        let der = sealer
            .open(
                &stored.private_key_sealed,
                &seal_context(tenant_id, &stored.kid),
            )
            .context("opening the signing key")?;
        let key = Arc::new(SigningKey::from_pkcs8(&stored.kid, &der)?);
        let mut parsed = self.parsed.write().expect("key ring lock");
        if parsed.len() > 10_000 {
            parsed.clear();
        }
        parsed.insert(cache_key, key.clone());
        Ok(key)
    }
}
