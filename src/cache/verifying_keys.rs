//! Public keys parsed for verification, by (tenant, kid): each published JWK is parsed once per
//! node, not once per token checked.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use uuid::Uuid;

use crate::crypto::signing::VerifyingKey;
use crate::db::signing_keys::StoredKey;

/// More parsed keys than this and the map starts again (keys are cheap to parse again; a
/// node serving many tenants must not grow without bound).
const MAX_PARSED: usize = 10_000;

#[derive(Default)]
pub struct VerifyingKeys {
    parsed: RwLock<HashMap<(Uuid, String), Arc<VerifyingKey>>>,
}

impl VerifyingKeys {
    /// The verifying key of one of the tenant's published keys.
    pub fn of(&self, tenant_id: Uuid, stored: &StoredKey) -> anyhow::Result<Arc<VerifyingKey>> {
        let cache_key = (tenant_id, stored.kid.clone());
        if let Some(key) = self
            .parsed
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&cache_key)
        {
            return Ok(key.clone());
        }
        let key = Arc::new(VerifyingKey::from_jwk(&stored.public_jwk)?);
        let mut parsed = self.parsed.write().unwrap_or_else(|e| e.into_inner());
        if parsed.len() > MAX_PARSED {
            parsed.clear();
        }
        parsed.insert(cache_key, key.clone());
        Ok(key)
    }
}
