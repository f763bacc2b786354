//! What every request handler shares: settings, the pool, the sealer, the upstream HTTP client
//! and the configuration cache.

use std::sync::Arc;

use sqlx::PgPool;

use crate::cache::ConfigCache;
use crate::config::Settings;
use crate::crypto::seal::Sealer;
use crate::crypto::signing::SigningKey;

/// Entries per cached kind (hosts, clients, connections, keys).
pub const CACHE_ENTRIES: u64 = 50_000;

pub struct AppState {
    pub settings: Settings,
    pub pool: PgPool,
    pub sealer: Sealer,
    pub upstream: reqwest::Client,
    pub cache: Arc<ConfigCache>,
    pub verifying_keys: crate::tokens::VerifyingKeys,
    pub metrics: crate::metrics::Metrics,
    pub limits: crate::rate_limit::RateLimits,
}

impl AppState {
    pub fn new(settings: Settings, pool: PgPool, sealer: Sealer) -> Arc<Self> {
        let upstream = crate::providers::upstream_http::client(
            settings.upstream_connect_timeout,
            settings.upstream_timeout,
        );
        let limits = crate::rate_limit::RateLimits::new(&settings);
        let settings_metrics = settings.metrics_enabled;
        Arc::new(AppState {
            settings,
            pool,
            sealer,
            upstream,
            cache: Arc::new(ConfigCache::new(CACHE_ENTRIES)),
            verifying_keys: Default::default(),
            metrics: crate::metrics::Metrics::new(settings_metrics),
            limits,
        })
    }

    /// The tenant's current signing key, parsed once per node.
    pub async fn signing_key(&self, tenant_id: uuid::Uuid) -> anyhow::Result<Arc<SigningKey>> {
        self.cache
            .signing_key(&self.pool, &self.sealer, tenant_id)
            .await
    }
}
