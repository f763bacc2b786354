//! What every request handler shares: settings, the pool, the sealer, the upstream HTTP client
//! and the in-memory key ring.

use std::sync::Arc;

use sqlx::PgPool;

use crate::config::Settings;
use crate::crypto::seal::Sealer;
use crate::services::keys::KeyRing;

pub struct AppState {
    pub settings: Settings,
    pub pool: PgPool,
    pub sealer: Sealer,
    pub upstream: reqwest::Client,
    pub keys: KeyRing,
    pub verifying_keys: crate::tokens::VerifyingKeys,
}

impl AppState {
    pub fn new(settings: Settings, pool: PgPool, sealer: Sealer) -> Arc<Self> {
        let upstream = crate::providers::upstream_http::client(
            settings.upstream_connect_timeout,
            settings.upstream_timeout,
        );
        Arc::new(AppState {
            settings,
            pool,
            sealer,
            upstream,
            keys: KeyRing::default(),
            verifying_keys: Default::default(),
        })
    }
}
