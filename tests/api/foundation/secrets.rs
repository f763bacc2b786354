//! Sealed secrets: no plaintext in a dump of the database, a sealed value moved to another row
//! does not open, and master key rotation reseals everything.

use gatehouse::services::connections::ConnectionInput;
use gatehouse::services::{self, Actor};
use serde_json::{json, Value};

use super::*;
use crate::helpers::*;

#[tokio::test]
async fn a_dump_of_the_database_holds_no_plaintext_secret() {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let secret = "exact-client-secret-4f8a9c";
    let input = ConnectionInput {
        name: Some("exact".into()),
        strategy: Some("exact".into()),
        options: Some(json!({"client_id": "cid", "client_secret": secret})),
        ..Default::default()
    };
    services::connections::create(
        &app.pool,
        &app.state.sealer,
        tenant.tenant_id,
        &input,
        &Actor::named("test"),
    )
    .await
    .unwrap();
    let client = app.create_client(&tenant, "regular_web").await;
    let dump = dump_all_text(&app.pool).await;
    assert!(
        !dump.contains(secret),
        "the connection's client secret is stored in plaintext"
    );
    assert!(
        !dump.contains(client.client_secret.as_deref().unwrap()),
        "a client secret is stored in plaintext"
    );
    assert!(
        !dump.contains("PRIVATE KEY") && !dump.contains("\"d\":"),
        "a signing key is stored in plaintext"
    );
}

/// Every column of every table as text, like a dump.
pub async fn dump_all_text(pool: &sqlx::PgPool) -> String {
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
            .fetch_all(pool)
            .await
            .unwrap();
    let mut out = String::new();
    for t in tables {
        let rows: Vec<String> =
            sqlx::query_scalar(&format!("SELECT row_to_json(x)::text FROM {t} x"))
                .fetch_all(pool)
                .await
                .unwrap();
        out.push_str(&rows.join("\n"));
    }
    out
}

#[tokio::test]
async fn a_sealed_secret_moved_to_another_row_does_not_open() {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let mk = |name: &str, secret: &str| ConnectionInput {
        name: Some(name.into()),
        strategy: Some("exact".into()),
        options: Some(json!({"client_id": "cid", "client_secret": secret})),
        ..Default::default()
    };
    let a = services::connections::create(
        &app.pool,
        &app.state.sealer,
        tenant.tenant_id,
        &mk("a", "secret-a"),
        &Actor::named("t"),
    )
    .await
    .unwrap();
    let b = services::connections::create(
        &app.pool,
        &app.state.sealer,
        tenant.tenant_id,
        &mk("b", "secret-b"),
        &Actor::named("t"),
    )
    .await
    .unwrap();
    sqlx::query("UPDATE connections SET client_secret_sealed = (SELECT client_secret_sealed FROM connections WHERE connection_id = $1) WHERE connection_id = $2")
        .bind(&a.connection.connection_id)
        .bind(&b.connection.connection_id)
        .execute(&app.pool)
        .await
        .unwrap();
    let moved =
        gatehouse::db::connections::by_id(&app.pool, tenant.tenant_id, &b.connection.connection_id)
            .await
            .unwrap()
            .unwrap();
    assert!(gatehouse::providers::open_upstream(&app.state.sealer, &moved).is_err());
    let original =
        gatehouse::db::connections::by_id(&app.pool, tenant.tenant_id, &a.connection.connection_id)
            .await
            .unwrap()
            .unwrap();
    assert!(gatehouse::providers::open_upstream(&app.state.sealer, &original).is_ok());
}

#[tokio::test]
async fn master_key_rotation_reseals_everything_and_old_values_still_open_meanwhile() {
    let url = fresh_database().await;
    let old = gatehouse::crypto::seal::MasterKey::generate_text();
    let new = gatehouse::crypto::seal::MasterKey::generate_text();
    let out = gatehouse_cli(&url, &old)
        .args(["tenant", "create", "acme"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = gatehouse_cli(&url, &new)
        .env("GATEHOUSE_PREVIOUS_MASTER_KEYS", &old)
        .args(["rotate-master-key", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["resealed"], 1, "the tenant's signing key");
    // Now the new key alone opens everything.
    let app = spawn_app_on(url, new).await;
    let tenant = gatehouse::db::tenants::by_slug(&app.pool, "acme")
        .await
        .unwrap()
        .unwrap();
    app.state
        .signing_key(tenant.tenant_id)
        .await
        .expect("the rotated key opens");
}
