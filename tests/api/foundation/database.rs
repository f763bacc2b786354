//! The database: migrations from empty and again, `tenant_id` leading every tenant-owned
//! primary key, data-layer queries that never see another tenant's rows, and the log's
//! waiting events written out when a node stops.

use gatehouse::services::{self, Actor};

use crate::helpers::*;

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_again_without_change() {
    let url = empty_database().await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    gatehouse::db::migrate(&pool).await.unwrap();
    gatehouse::db::migrate(&pool).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for t in [
        "tenants",
        "clients",
        "connections",
        "signing_keys",
        "users",
        "identities",
        "events",
        "admins",
    ] {
        assert!(
            tables.contains(&t.to_string()),
            "{t} missing from {tables:?}"
        );
    }
}

#[tokio::test]
async fn every_tenant_owned_table_leads_its_primary_key_with_tenant_id() {
    let app = spawn_app().await;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, a.attname::text FROM pg_index i
         JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
         WHERE i.indisprimary AND n.nspname = 'public' AND c.relname <> '_sqlx_migrations'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for (table, first) in rows {
        // `event_order` is about the PostgreSQL cluster, not a tenant.
        let global =
            ["tenants", "admins", "admin_sessions", "event_order"].contains(&table.as_str());
        if !global {
            assert_eq!(
                first, "tenant_id",
                "{table} must lead its primary key with tenant_id"
            );
        }
    }
}

#[tokio::test]
async fn data_layer_queries_of_one_tenant_never_see_another_tenants_rows() {
    let app = spawn_app().await;
    let a = app.create_tenant("tenant-a").await;
    let b = app.create_tenant("tenant-b").await;
    let client_a = app.create_client(&a, "regular_web").await;
    let fake = start_fake_exact().await;
    let conn_a = app
        .create_exact_connection(&a, "exact", &fake, &[&client_a])
        .await;
    app.create_exact_connection(&b, "exact", &fake, &[]).await;

    use gatehouse::db;
    assert!(
        db::clients::by_id(&app.pool, b.tenant_id, &client_a.client_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(db::connections::by_id(&app.pool, b.tenant_id, &conn_a)
        .await
        .unwrap()
        .is_none());
    let b_conns = db::connections::page(&app.pool, b.tenant_id, &Default::default(), 0, 50)
        .await
        .unwrap();
    let total = db::connections::count(&app.pool, b.tenant_id, &Default::default())
        .await
        .unwrap();
    assert_eq!(total, 1);
    assert!(b_conns.iter().all(|c| c.tenant_id == b.tenant_id));
    let b_clients = db::clients::page(&app.pool, b.tenant_id, 0, 50)
        .await
        .unwrap();
    assert!(b_clients.is_empty());
    // Enabling tenant A's client on tenant B's connection is refused.
    let b_conn = db::connections::by_name(&app.pool, b.tenant_id, "exact")
        .await
        .unwrap()
        .unwrap();
    let err = services::connections::set_clients(
        &app.pool,
        b.tenant_id,
        &b_conn.connection_id,
        &[(client_a.client_id.clone(), true)],
        None,
        &Actor::named("t"),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, services::ServiceError::Invalid(_)));
    fake.stop().await;
}

#[tokio::test]
async fn events_still_waiting_when_a_node_stops_are_written_out_once_with_their_own_time() {
    use std::sync::Arc;
    use std::time::Duration;

    use gatehouse::db::events::NewEvent;
    use gatehouse::deferred_events::DeferredEvents;

    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let deferred = Arc::new(DeferredEvents::default());
    // A worker recorded them while the database was away, then stopped (its runtime ended
    // with the batch unwritten).
    let happened = chrono::Utc::now();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let worker = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            worker.block_on(async {
                let away = sqlx::postgres::PgPoolOptions::new()
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_lazy("postgres://nobody@192.0.2.1:5432/nothing")
                    .unwrap();
                for i in 0..3 {
                    let event = NewEvent {
                        event_type: "client_credentials_exchanged",
                        description: format!("grant {i}"),
                        ..Default::default()
                    };
                    deferred.record(&away, tenant.tenant_id, event);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            });
        });
    });
    assert_eq!(deferred.waiting(), 3);
    tokio::time::sleep(Duration::from_millis(20)).await;
    // The stopping node writes them out through its own pool, in order, with their own time.
    assert_eq!(
        deferred.write_out(&app.pool, Duration::from_secs(10)).await,
        3
    );
    assert_eq!((deferred.waiting(), deferred.dropped()), (0, 0));
    let stored: Vec<(String, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "SELECT description, at FROM events WHERE tenant_id = $1
           AND type = 'client_credentials_exchanged' ORDER BY at",
    )
    .bind(tenant.tenant_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let names: Vec<&str> = stored.iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(names, ["grant 0", "grant 1", "grant 2"]);
    assert!(stored
        .iter()
        .all(|(_, at)| (*at - happened).num_milliseconds().abs() < 1_000));
    // A batch written again (its first answer lost) stores nothing twice.
    let again = NewEvent {
        event_type: "client_credentials_exchanged",
        description: "grant again".into(),
        ..Default::default()
    };
    let rows = [(tenant.tenant_id, uuid::Uuid::new_v4(), &again, happened)];
    for _ in 0..2 {
        gatehouse::db::events::record_batch(&app.pool, &rows)
            .await
            .unwrap();
    }
    let copies: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE tenant_id = $1 AND description = 'grant again'",
    )
    .bind(tenant.tenant_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(copies, 1);
}
