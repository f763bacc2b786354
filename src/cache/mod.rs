//! The hot-path configuration cache: tenant by host, client by id, client grant by audience,
//! connection by name or id (with its opened upstream settings and enabled clients) and the
//! tenant's keys, bounded in size and invalidated on every node through PostgreSQL
//! `LISTEN/NOTIFY` (see `listener.rs`). Machine-to-machine access tokens are kept here too, so a
//! client asking again for the same audience and scopes gets its unexpired token back instead
//! of costing another RSA signature; any configuration change of the tenant drops them.
//!
//! Correctness rule: an entry is tagged with its tenant's generation as it was *before* the
//! database read that produced it. A notification bumps the generation, so anything read before
//! the change can never be served after the node has heard of it. While the listener is not
//! connected the cache is bypassed entirely: reads go to the database.

pub mod listener;
mod tokens;
mod verifying_keys;

pub use tokens::{IssuedToken, IssuedTokenKey};
pub use verifying_keys::VerifyingKeys;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use moka::sync::Cache;
use sqlx::PgPool;
use uuid::Uuid;

use crate::crypto::claims::AccessClaims;
use crate::crypto::seal::{SealContext, Sealer};
use crate::crypto::signing::{SigningAlg, SigningKey};
use crate::db;
use crate::db::client_grants::ClientGrant;
use crate::db::clients::Client;
use crate::db::connections::Connection;
use crate::db::retry::{patiently, MaybeUnavailable};
use crate::db::signing_keys::StoredKey;
use crate::db::tenants::Tenant;
use crate::providers::{Strategy, UpstreamConfig};

/// A connection ready for logins.
pub struct LiveConnection {
    pub connection: Connection,
    pub enabled_clients: HashSet<String>,
    /// The provider and opened upstream settings, or why the connection cannot be used.
    pub upstream: Result<(&'static dyn Strategy, UpstreamConfig), String>,
}

#[derive(Clone)]
struct Tagged<V> {
    tag: u64,
    value: V,
}

/// Hit, miss and invalidation counts, for metrics.
#[derive(Default)]
pub struct CacheStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub invalidations: AtomicU64,
    /// Reads answered from the last known copy while the listener was lost.
    pub stale_hits: AtomicU64,
}

type Keyed<K, V> = Cache<K, Tagged<V>>;

pub struct ConfigCache {
    hosts: Keyed<String, Option<Tenant>>,
    clients: Keyed<(Uuid, String), Option<Arc<Client>>>,
    grants: Keyed<(Uuid, String, String), Option<Arc<ClientGrant>>>,
    issued_tokens: Keyed<IssuedTokenKey, Arc<IssuedToken>>,
    /// Access tokens that passed verification, by (tenant, SHA-256 of audience and token).
    verified_tokens: Keyed<(Uuid, [u8; 32]), Arc<AccessClaims>>,
    connections_by_name: Keyed<(Uuid, String), Option<Arc<LiveConnection>>>,
    connections_by_id: Keyed<(Uuid, String), Option<Arc<LiveConnection>>>,
    signing_keys: Keyed<(Uuid, SigningAlg), Arc<SigningKey>>,
    published_keys: Keyed<Uuid, Arc<Vec<StoredKey>>>,
    /// The published keys parsed for verification.
    pub verifying_keys: VerifyingKeys,
    /// Per-tenant generation; `HOSTS` stands for host routing.
    generations: RwLock<HashMap<Uuid, u64>>,
    /// Bumped when everything is dropped (listener reconnected), part of every tag.
    epoch: AtomicU64,
    live: AtomicBool,
    /// When the listener was lost (`suspend`), while it is.
    suspended_at: RwLock<Option<Instant>>,
    /// How long after that the last known entries may still answer when the database does
    /// not (`GATEHOUSE_CACHE_STALE_SECONDS`).
    stale_for: Duration,
    /// How long a load waits out the database being away (`GATEHOUSE_DB_RETRY_SECONDS`).
    patience: Duration,
    pub stats: CacheStats,
}

/// The tenant has no current key for this algorithm (none of its applications used it yet).
#[derive(Debug, thiserror::Error)]
#[error("the tenant has no current {0} signing key")]
pub struct NoCurrentKey(pub SigningAlg);

/// The generation key of host routing (tenants and their domains).
const HOSTS: Uuid = Uuid::nil();

impl ConfigCache {
    pub fn new(capacity: u64, stale_for: Duration, patience: Duration) -> Self {
        ConfigCache {
            hosts: Cache::new(capacity),
            clients: Cache::new(capacity),
            grants: Cache::new(capacity),
            issued_tokens: Cache::new(capacity),
            verified_tokens: Cache::new(capacity),
            connections_by_name: Cache::new(capacity),
            connections_by_id: Cache::new(capacity),
            signing_keys: Cache::new(capacity),
            published_keys: Cache::new(capacity),
            verifying_keys: VerifyingKeys::default(),
            generations: RwLock::default(),
            epoch: AtomicU64::new(1),
            live: AtomicBool::new(false),
            suspended_at: RwLock::new(None),
            stale_for,
            patience,
            stats: CacheStats::default(),
        }
    }

    /// Whether entries may be served (the listener is connected).
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    fn tag(&self, scope: Uuid) -> u64 {
        let generation = self
            .generations
            .read()
            .expect("generations lock")
            .get(&scope)
            .copied()
            .unwrap_or(0);
        (self.epoch.load(Ordering::Acquire) << 32) ^ generation
    }

    /// A tenant's configuration changed (or, for `HOSTS`, host routing did).
    pub fn invalidate_tenant(&self, scope: Uuid) {
        *self
            .generations
            .write()
            .expect("generations lock")
            .entry(scope)
            .or_insert(0) += 1;
        self.stats.invalidations.fetch_add(1, Ordering::Relaxed);
    }

    /// Host routing changed: tenant lookups by host are dropped.
    pub fn invalidate_hosts(&self) {
        self.invalidate_tenant(HOSTS);
    }

    /// Every tenant's configuration may have changed (a write through the dashboard).
    pub fn invalidate_everything(&self) {
        self.drop_all();
    }

    /// Stops serving from memory until `resume` (listener lost). What was cached stays, as the
    /// last known copy, and answers for `stale_for` after the listener was lost (a failover);
    /// past that every read goes to the database.
    pub fn suspend(&self) {
        self.live.store(false, Ordering::Release);
        let mut at = self.suspended_at.write().expect("suspension lock");
        at.get_or_insert_with(Instant::now);
    }

    /// Starts serving from memory again, after dropping whatever was cached before: changes
    /// made while the listener was away were not heard of.
    pub fn resume(&self) {
        self.drop_all();
        *self.suspended_at.write().expect("suspension lock") = None;
        self.live.store(true, Ordering::Release);
    }

    /// Whether the last known copies may still answer while the listener is lost.
    fn stale_allowed(&self) -> bool {
        self.suspended_at
            .read()
            .expect("suspension lock")
            .is_some_and(|at| at.elapsed() < self.stale_for)
    }

    fn drop_all(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.generations.write().expect("generations lock").clear();
        self.hosts.invalidate_all();
        self.clients.invalidate_all();
        self.grants.invalidate_all();
        self.issued_tokens.invalidate_all();
        self.verified_tokens.invalidate_all();
        self.connections_by_name.invalidate_all();
        self.connections_by_id.invalidate_all();
        self.signing_keys.invalidate_all();
        self.published_keys.invalidate_all();
        self.stats.invalidations.fetch_add(1, Ordering::Relaxed);
    }

    /// The entry for `key` if it was stored under `scope`'s current version (and the cache is
    /// live): what `cached` does for values read on demand, for values made elsewhere.
    fn current<K, V>(&self, cache: &Keyed<K, V>, key: &K, scope: Uuid) -> Option<V>
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        if !self.is_live() {
            return None;
        }
        let entry = cache.get(key)?;
        (entry.tag == self.tag(scope)).then_some(entry.value)
    }

    /// Stores `value` tagged with the `version` taken before what it was made from was read.
    fn keep<K, V>(&self, cache: &Keyed<K, V>, key: K, version: u64, value: V)
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        if self.is_live() {
            cache.insert(
                key,
                Tagged {
                    tag: version,
                    value,
                },
            );
        }
    }

    async fn cached<K, V, E, F, Fut>(
        &self,
        cache: &Keyed<K, V>,
        scope: Uuid,
        key: K,
        load: F,
    ) -> Result<V, E>
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
        E: MaybeUnavailable + std::fmt::Debug,
        F: Fn() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let live = self.is_live();
        let tag = self.tag(scope);
        // While the listener is lost (a failover), the copy known from before answers for a
        // bounded time: nothing this node could read now would be fresher for long, and the
        // database may not answer at all. Changes made through this node bump the tag, so it
        // never answers with what it was itself told to change.
        let stale = !live && self.stale_allowed();
        if live || stale {
            if let Some(entry) = cache.get(&key) {
                if entry.tag == tag {
                    let counter = if live {
                        &self.stats.hits
                    } else {
                        &self.stats.stale_hits
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    return Ok(entry.value);
                }
            }
        }
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        // Loads are reads: safe to repeat while the database fails over.
        let value = patiently(self.patience, |_| load()).await?;
        if live {
            cache.insert(
                key,
                Tagged {
                    tag,
                    value: value.clone(),
                },
            );
        }
        Ok(value)
    }

    pub async fn tenant_by_host(
        &self,
        pool: &PgPool,
        host: &str,
        base_domain: &str,
    ) -> Result<Option<Tenant>, sqlx::Error> {
        self.cached(&self.hosts, HOSTS, host.to_owned(), || async {
            match host.strip_suffix(&format!(".{base_domain}")) {
                Some(slug) if !slug.contains('.') => db::tenants::by_slug(pool, slug).await,
                Some(_) => Ok(None),
                None => db::tenants::by_custom_domain(pool, host).await,
            }
        })
        .await
    }

    pub async fn client(
        &self,
        pool: &PgPool,
        tenant_id: Uuid,
        client_id: &str,
    ) -> Result<Option<Arc<Client>>, sqlx::Error> {
        self.cached(
            &self.clients,
            tenant_id,
            (tenant_id, client_id.to_owned()),
            || async {
                Ok(db::clients::by_id(pool, tenant_id, client_id)
                    .await?
                    .map(Arc::new))
            },
        )
        .await
    }

    /// The client's grant for an audience (`client_credentials`).
    pub async fn grant(
        &self,
        pool: &PgPool,
        tenant_id: Uuid,
        client_id: &str,
        audience: &str,
    ) -> Result<Option<Arc<ClientGrant>>, sqlx::Error> {
        self.cached(
            &self.grants,
            tenant_id,
            (tenant_id, client_id.to_owned(), audience.to_owned()),
            || async {
                Ok(
                    db::client_grants::grant_for(pool, tenant_id, client_id, audience)
                        .await?
                        .map(Arc::new),
                )
            },
        )
        .await
    }

    /// The tenant's configuration version as of now, to take *before* reading what an issued
    /// token depends on (see [`ConfigCache::remember_token`]).
    pub fn version(&self, tenant_id: Uuid) -> u64 {
        self.tag(tenant_id)
    }

    pub async fn connection_by_name(
        &self,
        pool: &PgPool,
        sealer: &Sealer,
        tenant_id: Uuid,
        name: &str,
    ) -> Result<Option<Arc<LiveConnection>>, sqlx::Error> {
        self.cached(
            &self.connections_by_name,
            tenant_id,
            (tenant_id, name.to_owned()),
            || async {
                match db::connections::by_name(pool, tenant_id, name).await? {
                    Some(c) => Ok(Some(Arc::new(live_connection(pool, sealer, c).await?))),
                    None => Ok(None),
                }
            },
        )
        .await
    }

    pub async fn connection_by_id(
        &self,
        pool: &PgPool,
        sealer: &Sealer,
        tenant_id: Uuid,
        connection_id: &str,
    ) -> Result<Option<Arc<LiveConnection>>, sqlx::Error> {
        self.cached(
            &self.connections_by_id,
            tenant_id,
            (tenant_id, connection_id.to_owned()),
            || async {
                match db::connections::by_id(pool, tenant_id, connection_id).await? {
                    Some(c) => Ok(Some(Arc::new(live_connection(pool, sealer, c).await?))),
                    None => Ok(None),
                }
            },
        )
        .await
    }

    /// The tenant's current signing key for `alg`, opened and parsed. [`NoCurrentKey`] when
    /// the tenant has none for that algorithm yet (`services::keys::ensure_current` makes it).
    pub async fn signing_key(
        &self,
        pool: &PgPool,
        sealer: &Sealer,
        tenant_id: Uuid,
        alg: SigningAlg,
    ) -> anyhow::Result<Arc<SigningKey>> {
        self.cached(&self.signing_keys, tenant_id, (tenant_id, alg), || async {
            let stored = db::signing_keys::current(pool, tenant_id, alg.as_str())
                .await?
                .ok_or(NoCurrentKey(alg))?;
            let der = sealer.open(
                &stored.private_key_sealed,
                &SealContext::signing_key(tenant_id, &stored.kid),
            )?;
            Ok(Arc::new(SigningKey::from_pkcs8(&stored.kid, alg, &der)?))
        })
        .await
    }

    /// The keys the tenant's JWKS publishes (current and recently retired).
    pub async fn published_keys(
        &self,
        pool: &PgPool,
        tenant_id: Uuid,
    ) -> Result<Arc<Vec<StoredKey>>, sqlx::Error> {
        self.cached(&self.published_keys, tenant_id, tenant_id, || async {
            let keys = db::signing_keys::published(
                pool,
                tenant_id,
                crate::crypto::signing::retired_key_retention(),
            )
            .await?;
            // Only public halves are kept in memory.
            Ok(Arc::new(
                keys.into_iter()
                    .map(|k| StoredKey {
                        private_key_sealed: String::new(),
                        ..k
                    })
                    .collect(),
            ))
        })
        .await
    }
}

async fn live_connection(
    pool: &PgPool,
    sealer: &Sealer,
    connection: Connection,
) -> Result<LiveConnection, sqlx::Error> {
    let enabled_clients =
        db::connections::enabled_clients(pool, connection.tenant_id, &connection.connection_id)
            .await?
            .into_iter()
            .collect();
    let upstream =
        crate::providers::open_upstream(sealer, &connection).map_err(|e| format!("{e:#}"));
    Ok(LiveConnection {
        connection,
        enabled_clients,
        upstream,
    })
}
