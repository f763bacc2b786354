//! The hot-path cache across nodes: a committed change is used by the next login on another
//! node, and a node whose notification connection drops does not stay stale.

use std::sync::atomic::Ordering;
use std::time::Duration;

use gatehouse::services::{self, Actor};
use serde_json::json;

use crate::helpers::*;
use crate::login::*;

async fn wait_live(app: &TestApp) {
    for _ in 0..500 {
        if app.state.cache.is_live() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the cache listener never connected");
}

async fn wait_invalidated(app: &TestApp, before: u64) {
    for _ in 0..500 {
        if app.state.cache.stats.invalidations.load(Ordering::SeqCst) > before
            && app.state.cache.is_live()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("node never heard of the change");
}

/// The Exact client id the next login of `s` (through its app) is sent upstream with.
async fn upstream_client_id(s: &LoginSetup) -> String {
    let res = authorize(s, &s.web, &[]).await;
    assert_eq!(res.status(), 302);
    let (_, params) = location_params(&res);
    params["client_id"].clone()
}

#[tokio::test]
async fn a_change_committed_through_node_a_is_used_by_the_next_login_through_node_b() {
    let node_a = spawn_app().await;
    let node_b = spawn_app_on(node_a.database_url.clone(), node_a.master_key.clone()).await;
    wait_live(&node_b).await;
    let tenant = node_a.create_tenant("acme").await;
    let web = node_a.create_client(&tenant, "regular_web").await;
    let spa = node_a.create_client(&tenant, "spa").await;
    let fake = start_fake_exact().await;
    let connection_id = node_a
        .create_exact_connection(&tenant, "exact", &fake, &[&web])
        .await;
    // Each test node has its own base domain (its port), so the tenant's host differs per node.
    let tenant = node_b.tenant_on_this_node(&tenant);
    let s = LoginSetup {
        app: node_b,
        tenant,
        web,
        spa,
        fake,
    };

    let original = upstream_client_id(&s).await;
    // The setup's own notifications may still be arriving; soon node B serves from memory.
    let mut served_from_memory = false;
    for _ in 0..100 {
        let hits = s.app.state.cache.stats.hits.load(Ordering::SeqCst);
        upstream_client_id(&s).await;
        if s.app.state.cache.stats.hits.load(Ordering::SeqCst) > hits {
            served_from_memory = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(served_from_memory, "node B serves from its cache");

    for round in 0..3 {
        let before = s.app.state.cache.stats.invalidations.load(Ordering::SeqCst);
        let new_client_id = format!("rotated-{round}");
        let input = services::connections::ConnectionInput {
            options: Some(json!({ "client_id": new_client_id, "baseUrl": s.fake.base_url() })),
            ..Default::default()
        };
        services::connections::update(
            &node_a.pool,
            &node_a.state.sealer,
            s.tenant.tenant_id,
            &connection_id,
            &input,
            None,
            &Actor::named("test"),
        )
        .await
        .unwrap();
        wait_invalidated(&s.app, before).await;
        let seen = upstream_client_id(&s).await;
        assert_ne!(seen, original);
        assert_eq!(
            seen, new_client_id,
            "round {round}: node B used the committed change"
        );
    }
}

#[tokio::test]
async fn a_node_whose_notification_connection_drops_does_not_stay_stale() {
    let s = login_setup().await;
    wait_live(&s.app).await;
    let original = upstream_client_id(&s).await;
    upstream_client_id(&s).await; // cached now

    let before = s.app.state.cache.stats.invalidations.load(Ordering::SeqCst);
    let killed: Vec<bool> = sqlx::query_scalar("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gatehouse-listener'")
        .fetch_all(&s.app.pool)
        .await
        .unwrap();
    assert!(
        !killed.is_empty(),
        "the listener connection was found and terminated"
    );
    // Changed while the node cannot hear about it.
    sqlx::query(
        "UPDATE connections SET options = options || '{\"client_id\":\"changed-while-deaf\"}'",
    )
    .execute(&s.app.pool)
    .await
    .unwrap();
    wait_invalidated(&s.app, before).await;
    let seen = upstream_client_id(&s).await;
    assert_ne!(seen, original);
    assert_eq!(seen, "changed-while-deaf");
}

#[tokio::test]
async fn a_change_made_by_another_process_reaches_a_running_node() {
    let s = login_setup().await;
    wait_live(&s.app).await;
    authorize(&s, &s.web, &[]).await;
    // A second client enabled later (as the CLI would do) can log in at once.
    let before = s.app.state.cache.stats.invalidations.load(Ordering::SeqCst);
    let other = s.app.create_client(&s.tenant, "regular_web").await;
    wait_invalidated(&s.app, before).await;
    let before = s.app.state.cache.stats.invalidations.load(Ordering::SeqCst);
    let connection = gatehouse::db::connections::by_name(&s.app.pool, s.tenant.tenant_id, "exact")
        .await
        .unwrap()
        .unwrap();
    services::connections::set_clients(
        &s.app.pool,
        s.tenant.tenant_id,
        &connection.connection_id,
        &[(other.client_id.clone(), true)],
        None,
        &Actor::named("cli"),
    )
    .await
    .unwrap();
    wait_invalidated(&s.app, before).await;
    let res = authorize(&s, &other, &[]).await;
    assert_eq!(res.status(), 302);
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with(&s.fake.base_url()));
}
