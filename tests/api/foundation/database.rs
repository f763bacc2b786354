//! The database: migrations from empty and again, `tenant_id` leading every tenant-owned
//! primary key, and data-layer queries that never see another tenant's rows.

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
