//! What every request handler shares: settings, the pool, the sealer, the upstream HTTP client
//! and the configuration cache.

use std::sync::{Arc, Mutex};

use sqlx::PgPool;

use crate::cache::ConfigCache;
use crate::config::Settings;
use crate::crypto::seal::Sealer;
use crate::crypto::signing::SigningKey;

/// Entries per cached kind (hosts, clients, connections, keys).
pub const CACHE_ENTRIES: u64 = 50_000;

/// The node's state. Everything behind an `Arc` is one per node; the pool and the upstream
/// client are the sockets, which each HTTP worker gets its own of (`for_worker`).
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub pool: PgPool,
    pub sealer: Arc<Sealer>,
    pub upstream: reqwest::Client,
    pub cache: Arc<ConfigCache>,
    pub verifying_keys: Arc<crate::tokens::VerifyingKeys>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub limits: Arc<crate::rate_limit::RateLimits>,
    /// Every pool of the node, for the metrics' totals.
    pub pools: Pools,
}

impl AppState {
    pub fn new(settings: Settings, pool: PgPool, sealer: Sealer) -> Arc<Self> {
        let upstream = upstream_client(&settings);
        let limits = crate::rate_limit::RateLimits::new(&settings);
        let metrics = crate::metrics::Metrics::new(settings.metrics_enabled);
        Arc::new(AppState {
            settings: Arc::new(settings),
            pools: Pools(Arc::new(Mutex::new(vec![pool.clone()]))),
            pool,
            sealer: Arc::new(sealer),
            upstream,
            cache: Arc::new(ConfigCache::new(CACHE_ENTRIES)),
            verifying_keys: Default::default(),
            metrics: Arc::new(metrics),
            limits: Arc::new(limits),
        })
    }

    /// The state one HTTP worker serves with: the node's caches, keys and limits, but its own
    /// database pool (its share of `GATEHOUSE_DB_MAX_CONNECTIONS`) and upstream client. Each
    /// worker runs its own single-threaded runtime, and a socket answers to the runtime it was
    /// opened on: a connection shared between workers wakes its home thread to read every
    /// answer, which then wakes the worker waiting for it. Two thread switches per statement
    /// and per upstream call were ~10 % of a login's CPU (BENCHMARKS.md). Made on the worker's
    /// own thread (the pool's housekeeping task lands on that worker's runtime).
    pub fn for_worker(&self) -> Self {
        let share = self
            .settings
            .db_max_connections
            .div_ceil(self.settings.workers.max(1) as u32)
            .max(1);
        let pool = self
            .pool
            .options()
            .clone()
            .max_connections(share)
            .connect_lazy_with((*self.pool.connect_options()).clone());
        self.pools.add(pool.clone());
        AppState {
            pool,
            upstream: upstream_client(&self.settings),
            ..self.clone()
        }
    }

    /// The tenant's current signing key, parsed once per node.
    pub async fn signing_key(&self, tenant_id: uuid::Uuid) -> anyhow::Result<Arc<SigningKey>> {
        self.cache
            .signing_key(&self.pool, &self.sealer, tenant_id)
            .await
    }
}

/// The node's pools: the one it started with (background work) and each worker's.
#[derive(Clone)]
pub struct Pools(Arc<Mutex<Vec<PgPool>>>);

impl Pools {
    fn add(&self, pool: PgPool) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(pool);
    }

    /// Open and idle connections over all of them.
    pub fn totals(&self) -> (u32, usize) {
        let pools = self.0.lock().unwrap_or_else(|e| e.into_inner());
        pools.iter().fold((0, 0), |(open, idle), p| {
            (open + p.size(), idle + p.num_idle())
        })
    }
}

fn upstream_client(settings: &Settings) -> reqwest::Client {
    crate::providers::upstream_http::client(
        settings.upstream_connect_timeout,
        settings.upstream_timeout,
    )
}
