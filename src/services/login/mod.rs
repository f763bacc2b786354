//! The login service: the steps of a login after the routes have parsed the request. It starts
//! a login transaction, completes it when the provider sends the user back, authenticates
//! clients and serves the token grants (one module each), and revokes grants. Routes parse
//! HTTP and render what this decides; nothing here knows of requests or responses.

pub mod authorization_code;
pub mod client_auth;
pub mod client_credentials;
pub mod completion;
mod grant_error;
mod issue;
pub mod refresh_token;
pub mod revocation;
pub mod start;
pub mod trace;

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use crate::cache::ConfigCache;
use crate::crypto::seal::Sealer;
use crate::db::events::NewEvent;
use crate::deferred_events::DeferredEvents;
use crate::metrics::Metrics;
use crate::providers::upstream_http::UpstreamClient;
use crate::rate_limit::RateLimits;

pub use grant_error::GrantError;
pub use issue::{user_claims, TokenResponse};

/// Lifetime of a login transaction (from /authorize to /login/callback).
pub const TRANSACTION_SECONDS: i64 = 600;
/// Lifetime of an authorization code.
pub const CODE_SECONDS: i64 = 60;
/// Lifetime of ID and access tokens.
pub const TOKEN_SECONDS: i64 = 3600;
/// Lifetime of a refresh token.
pub const REFRESH_TOKEN_DAYS: i64 = 30;
/// How long after a code's redemption, or a refresh token's rotation, the same request is
/// still answered as a repeat (its first answer lost in a failover) rather than as a replay:
/// longer than a request waits out a failover, plus the client's own retry.
pub const REPEAT_GRACE: chrono::Duration = chrono::Duration::seconds(30);

/// What the login service works with: the worker's database pool and upstream client, the
/// node's sealer, caches, limits, metrics and deferred event writes.
#[derive(Clone, Copy)]
pub struct LoginContext<'a> {
    pub pool: &'a PgPool,
    pub sealer: &'a Sealer,
    pub cache: &'a ConfigCache,
    pub upstream: &'a UpstreamClient,
    pub metrics: &'a Metrics,
    pub limits: &'a RateLimits,
    pub deferred_events: &'a Arc<DeferredEvents>,
    /// How long work that is safe to repeat waits out the database being away (`db::retry`).
    pub patience: Duration,
}

impl LoginContext<'_> {
    /// Records `event` without holding the answer for it: the token answer neither waits on
    /// the database nor fails with it (client credentials grants are served from the node's
    /// cache, and keep being served while the database is away; the event is then dropped and
    /// counted).
    fn record_later(&self, tenant_id: Uuid, event: NewEvent) {
        self.deferred_events.record(self.pool, tenant_id, event);
    }
}
