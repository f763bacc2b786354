//! What request handlers share: per node the settings, sealer, caches, limits and metrics; per
//! HTTP worker the database pool and the upstream HTTP client.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use sqlx::PgPool;

use crate::cache::ConfigCache;
use crate::config::Settings;
use crate::crypto::seal::Sealer;
use crate::crypto::signing::{SigningAlg, SigningKey};
use crate::providers::upstream_http::UpstreamClient;

/// Entries per cached kind (hosts, clients, connections, keys).
pub const CACHE_ENTRIES: u64 = 50_000;

/// The node's state. Everything behind an `Arc` is one per node; the pool and the upstream
/// client are the sockets, which each HTTP worker gets its own of (`for_worker`).
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub pool: PgPool,
    pub sealer: Arc<Sealer>,
    pub upstream: UpstreamClient,
    pub cache: Arc<ConfigCache>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub limits: Arc<crate::rate_limit::RateLimits>,
    /// Events written after their answer (the token endpoint's).
    pub deferred_events: Arc<crate::deferred_events::DeferredEvents>,
    /// Every live pool of the node, for the metrics' totals.
    pub pools: Pools,
    /// Keeps this state's pool in `pools` while the state (a worker's, or the node's) lives.
    _pool_registration: Arc<PgPool>,
}

impl AppState {
    pub fn new(settings: Settings, pool: PgPool, sealer: Sealer) -> Arc<Self> {
        let upstream = upstream_client(&settings);
        let (stale_for, patience) = (settings.cache_stale_for, settings.db_retry_budget);
        let limits = crate::rate_limit::RateLimits::new(&settings);
        let metrics = crate::metrics::Metrics::new(settings.metrics_enabled);
        let pools = Pools::default();
        Arc::new(AppState {
            settings: Arc::new(settings),
            _pool_registration: pools.register(&pool),
            pools,
            pool,
            sealer: Arc::new(sealer),
            upstream,
            cache: Arc::new(ConfigCache::new(CACHE_ENTRIES, stale_for, patience)),
            metrics: Arc::new(metrics),
            limits: Arc::new(limits),
            deferred_events: Default::default(),
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
            // A request waits out a failover for a connection as long as it would retry its
            // work (`GATEHOUSE_DB_RETRY_SECONDS`): taking a connection is always safe to wait
            // for, since nothing was sent yet.
            .acquire_timeout(self.settings.db_retry_budget.max(Duration::from_secs(1)))
            .connect_lazy_with((*self.pool.connect_options()).clone());
        AppState {
            _pool_registration: self.pools.register(&pool),
            pool,
            upstream: upstream_client(&self.settings),
            ..self.clone()
        }
    }

    /// What the login service works with, from this worker's state.
    pub fn login(&self) -> crate::services::login::LoginContext<'_> {
        crate::services::login::LoginContext {
            pool: &self.pool,
            sealer: &self.sealer,
            cache: &self.cache,
            upstream: &self.upstream,
            metrics: &self.metrics,
            limits: &self.limits,
            deferred_events: &self.deferred_events,
            patience: self.settings.db_retry_budget,
        }
    }

    /// The tenant's current RS256 signing key, parsed once per node.
    pub async fn signing_key(&self, tenant_id: uuid::Uuid) -> anyhow::Result<Arc<SigningKey>> {
        self.cache
            .signing_key(&self.pool, &self.sealer, tenant_id, SigningAlg::Rs256)
            .await
    }
}

/// The node's pools: the one it started with (background work) and each live worker's. A
/// worker that actix replaces drops its state, and its pool leaves the list with it.
#[derive(Clone, Default)]
pub struct Pools(Arc<Mutex<Vec<Weak<PgPool>>>>);

impl Pools {
    /// Lists `pool` for as long as the returned handle lives.
    fn register(&self, pool: &PgPool) -> Arc<PgPool> {
        let handle = Arc::new(pool.clone());
        let mut pools = self.0.lock().unwrap_or_else(|e| e.into_inner());
        pools.retain(|p| p.strong_count() > 0);
        pools.push(Arc::downgrade(&handle));
        handle
    }

    /// Open and idle connections over all of them.
    pub fn totals(&self) -> (u32, usize) {
        let pools = self.0.lock().unwrap_or_else(|e| e.into_inner());
        pools
            .iter()
            .filter_map(Weak::upgrade)
            .fold((0, 0), |(open, idle), p| {
                (open + p.size(), idle + p.num_idle())
            })
    }
}

fn upstream_client(settings: &Settings) -> UpstreamClient {
    crate::providers::upstream_http::client(
        settings.upstream_connect_timeout,
        settings.upstream_timeout,
        settings.upstream_forbid,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(pools: &Pools) -> usize {
        let pools = pools.0.lock().unwrap();
        pools.iter().filter(|p| p.strong_count() > 0).count()
    }

    #[tokio::test]
    async fn a_pool_is_counted_while_its_state_lives() {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://nobody@127.0.0.1:1/nothing")
            .unwrap();
        let pools = Pools::default();
        let _node = pools.register(&pool);
        let worker = pools.register(&pool);
        assert_eq!(live(&pools), 2);
        // A replaced worker's pool is no longer counted, and the list does not grow.
        drop(worker);
        let _replacement = pools.register(&pool);
        assert_eq!(live(&pools), 2);
        assert_eq!(pools.0.lock().unwrap().len(), 2);
        assert_eq!(pools.totals(), (0, 0));
    }
}
