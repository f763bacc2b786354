//! A failover seen from one node: while PostgreSQL is away and the change listener lost, the
//! tenant's discovery document and key set answer from the last known copy for
//! `GATEHOUSE_CACHE_STALE_SECONDS`, then no longer (never a stale key past the limit); the
//! listener is back within about a second of the database.

use std::time::{Duration, Instant};

use gatehouse::crypto::seal::MasterKey;

use crate::helpers;
use crate::support::{browser, eventually, migrated_pg, pg_data_dir, start_pg, SERIAL};

const STALE_SECONDS: u64 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_and_keys_answer_from_the_last_known_copy_for_a_bounded_time_while_postgres_is_away(
) {
    let _serial = SERIAL.lock().await;
    let dir = pg_data_dir();
    let (pg, url) = migrated_pg(dir.path()).await;
    let pg_port = pg.port();
    let stale = STALE_SECONDS.to_string();
    let app = helpers::spawn_app_configured(
        url,
        MasterKey::generate_text(),
        &[("GATEHOUSE_CACHE_STALE_SECONDS", stale.as_str())],
    )
    .await;
    let tenant = app.create_tenant("acme").await;
    let jwks_url = app.tenant_url(&tenant, "/.well-known/jwks.json");
    let discovery_url = app.tenant_url(&tenant, "/.well-known/openid-configuration");
    let get = |url: String| async move {
        let res = browser().get(url).send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap_or_default())
    };
    eventually(Duration::from_secs(10), "the cache to be live", || async {
        app.state.cache.is_live()
    })
    .await;
    let (_, keys) = get(jwks_url.clone()).await;
    let (_, discovery) = get(discovery_url.clone()).await;

    tokio::task::spawn_blocking(move || drop(pg)).await.unwrap();
    let stopped = Instant::now();
    eventually(Duration::from_secs(3), "the listener to notice", || async {
        !app.state.cache.is_live()
    })
    .await;
    // Within the limit: the last known copies, unchanged.
    while stopped.elapsed() < Duration::from_secs(STALE_SECONDS - 1) {
        assert_eq!(get(jwks_url.clone()).await, (200, keys.clone()));
        assert_eq!(get(discovery_url.clone()).await, (200, discovery.clone()));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        app.state
            .cache
            .stats
            .stale_hits
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
    // Past it: the database's answer or none.
    tokio::time::sleep(
        Duration::from_secs(STALE_SECONDS) - stopped.elapsed() + Duration::from_millis(500),
    )
    .await;
    assert_eq!(get(jwks_url.clone()).await.0, 503);

    let pg = start_pg(dir.path(), Some(pg_port)).await;
    let back = Instant::now();
    eventually(Duration::from_secs(10), "the listener back", || async {
        app.state.cache.is_live()
    })
    .await;
    assert!(
        back.elapsed() < Duration::from_secs(5),
        "listener back after {:?}",
        back.elapsed()
    );
    assert_eq!(get(jwks_url).await, (200, keys));
    drop(pg);
}
