//! Keeps a node's cache honest: listens on `gatehouse_config` (filled by database triggers on
//! every configuration change) and bumps the changed tenant's generation. When the listening
//! connection is lost, the cache is suspended (the last known copy answers for a bounded time,
//! then every read goes to the database) until a new connection listens again, within a
//! second of the database being back, and then everything cached before is dropped.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPoolOptions};
use uuid::Uuid;

use super::ConfigCache;

pub const CHANNEL: &str = "gatehouse_config";

/// Runs until the returned task is aborted (when the server stops).
pub fn spawn(pool: sqlx::PgPool, cache: Arc<ConfigCache>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            match listen(&pool, &cache).await {
                Ok(()) => backoff = Duration::from_millis(100),
                Err(e) => {
                    tracing::warn!(error = %e, "configuration listener failed; reading the database until it reconnects");
                    // Capped at a second: after a failover the cache is back soon after the
                    // database is.
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
            cache.suspend();
            // The listener's connection is the first to see the database go: the pools check
            // the connections they had before handing them out again (`db::connect`).
            crate::db::failure::note_away();
            tokio::time::sleep(backoff).await;
        }
    })
}

/// One listening session: returns when the connection is lost.
async fn listen(pool: &sqlx::PgPool, cache: &ConfigCache) -> Result<(), sqlx::Error> {
    // A dedicated one-connection pool, so the listener never takes a request's connection.
    let options = (*pool.connect_options())
        .clone()
        .application_name("gatehouse-listener");
    let own_pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(3))
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await?;
    let mut listener = PgListener::connect_with(&own_pool).await?;
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    // Listening from here on; whatever changed before is unknown, so drop it all.
    cache.resume();
    tracing::debug!("configuration listener connected");
    while let Some(notification) = listener.try_recv().await? {
        match notification.payload() {
            "*" => cache.invalidate_hosts(),
            payload => match Uuid::parse_str(payload) {
                Ok(tenant_id) => cache.invalidate_tenant(tenant_id),
                Err(_) => cache.resume(),
            },
        }
    }
    own_pool.close().await;
    Ok(())
}
