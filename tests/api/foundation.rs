//! Foundation: migrations, health, tenants and host resolution, sealed secrets, data-layer
//! isolation, and the CLI.

use gatehouse::services::connections::ConnectionInput;
use gatehouse::services::{self, Actor};
use serde_json::{json, Value};

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
async fn health_and_readiness_answer_on_any_host() {
    let app = spawn_app().await;
    for url in [
        app.admin_url("/healthz"),
        app.admin_url("/readyz"),
        format!("http://127.0.0.1:{}/readyz", app.port),
    ] {
        let res = app.http.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200, "{url}");
    }
}

#[tokio::test]
async fn tenant_hosts_resolve_by_slug_and_custom_domain_and_unknown_hosts_get_404() {
    let app = spawn_app().await;
    let settings = &app.state.settings;
    services::tenants::create(
        &app.pool,
        &app.state.sealer,
        settings,
        "acme",
        Some("Acme"),
        &["login.acme.test".into()],
    )
    .await
    .unwrap();

    let discovery = |host: String| {
        let http = app.http.clone();
        let port = app.port;
        async move {
            http.get(format!(
                "http://{host}:{port}/.well-known/openid-configuration"
            ))
            .send()
            .await
            .unwrap()
        }
    };
    let by_slug = discovery("acme.localhost".into()).await;
    assert_eq!(by_slug.status(), 200);
    let body: Value = by_slug.json().await.unwrap();
    assert_eq!(
        body["issuer"],
        format!("http://acme.localhost:{}/", app.port)
    );

    // A custom domain is matched with its port as the Host header carries it.
    services::tenants::create(
        &app.pool,
        &app.state.sealer,
        settings,
        "beta",
        None,
        &[format!("login.beta.test:{}", app.port)],
    )
    .await
    .unwrap();
    let by_domain = discovery("login.beta.test".into()).await;
    assert_eq!(by_domain.status(), 200);
    assert_eq!(
        by_domain.json::<Value>().await.unwrap()["issuer"],
        format!("http://login.beta.test:{}/", app.port)
    );

    for unknown in ["nobody.localhost", "login.unknown.test", "a.b.localhost"] {
        let res = discovery(unknown.into()).await;
        assert_eq!(res.status(), 404, "{unknown}");
    }
    // The admin host is not a tenant.
    let res = app
        .http
        .get(app.admin_url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn tenants_are_validated_and_unique() {
    let app = spawn_app().await;
    let s = &app.state;
    for bad in [
        "",
        "ab",
        "Acme",
        "acme_corp",
        "-x-",
        "admin",
        "a'; drop table tenants; --",
    ] {
        let err = services::tenants::create(&app.pool, &s.sealer, &s.settings, bad, None, &[])
            .await
            .unwrap_err();
        assert!(
            matches!(err, services::ServiceError::Invalid(ref f) if f.field == "slug"),
            "{bad}: {err:?}"
        );
    }
    services::tenants::create(
        &app.pool,
        &s.sealer,
        &s.settings,
        "acme",
        None,
        &["login.acme.test".into()],
    )
    .await
    .unwrap();
    let dup = services::tenants::create(&app.pool, &s.sealer, &s.settings, "acme", None, &[])
        .await
        .unwrap_err();
    assert!(matches!(dup, services::ServiceError::Conflict(_)));
    let taken = services::tenants::create(
        &app.pool,
        &s.sealer,
        &s.settings,
        "other",
        None,
        &["LOGIN.acme.test".into()],
    )
    .await
    .unwrap_err();
    assert!(matches!(taken, services::ServiceError::Conflict(_)));
    // The failed creations left nothing behind.
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
    let bad_domain = services::tenants::create(
        &app.pool,
        &s.sealer,
        &s.settings,
        "third",
        None,
        &["not a domain".into()],
    )
    .await
    .unwrap_err();
    assert!(matches!(bad_domain, services::ServiceError::Invalid(ref f) if f.field == "domain"));
}

#[tokio::test]
async fn connections_are_validated_by_their_strategy() {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let create = |input: ConnectionInput| {
        let pool = app.pool.clone();
        let state = app.state.clone();
        async move {
            services::connections::create(
                &pool,
                &state.sealer,
                tenant.tenant_id,
                &input,
                &Actor::named("test"),
            )
            .await
        }
    };
    let cases = [
        (
            json!({"name": "bad name", "strategy": "exact", "options": {"client_id": "a", "client_secret": "b"}}),
            "name",
        ),
        (
            json!({"name": "exact", "strategy": "github", "options": {}}),
            "strategy",
        ),
        (
            json!({"name": "exact", "strategy": "exact", "options": {"client_id": "a"}}),
            "options.client_secret",
        ),
        (
            json!({"name": "exact", "strategy": "exact", "options": {"client_id": "a", "client_secret": "b", "baseUrl": "http://example.com"}}),
            "options.baseUrl",
        ),
        (
            json!({"name": "exact", "strategy": "exact", "options": {"client_id": "a", "client_secret": "b", "baseUrl": "javascript:alert(1)"}}),
            "options.baseUrl",
        ),
    ];
    for (body, field) in cases {
        let input = ConnectionInput {
            name: body["name"].as_str().map(str::to_owned),
            strategy: body["strategy"].as_str().map(str::to_owned),
            options: Some(body["options"].clone()),
            ..Default::default()
        };
        match create(input).await {
            Err(services::ServiceError::Invalid(f)) => assert_eq!(f.field, field, "{body}"),
            other => panic!("{body}: expected a validation error, got {other:?}"),
        }
    }
    let ok = ConnectionInput {
        name: Some("exact-nl".into()),
        strategy: Some("exact".into()),
        options: Some(json!({"client_id": "a", "client_secret": "b"})),
        ..Default::default()
    };
    let view = create(ok.clone()).await.unwrap();
    assert!(view.connection.connection_id.starts_with("con_"));
    assert_eq!(
        view.connection.options["baseUrl"],
        "https://start.exactonline.nl"
    );
    assert!(matches!(
        create(ok).await,
        Err(services::ServiceError::Conflict(_))
    ));
}

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

fn gatehouse_cli(database_url: &str, master_key: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("GATEHOUSE_MASTER_KEY", master_key)
        .env("RUST_LOG", "warn");
    cmd
}

/// `gatehouse ready` with the server at `listen`: its exit status and output.
async fn ready_command(app: &TestApp, listen: &str) -> std::process::Output {
    let mut cmd = gatehouse_cli(&app.database_url, &app.master_key);
    cmd.env("GATEHOUSE_LISTEN", listen)
        .args(["ready", "--timeout-seconds", "5"]);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_ready_command_is_a_health_check_of_the_running_server() {
    let app = spawn_app().await;
    // As in the container: listening on every address, asked on loopback.
    let ready = ready_command(&app, &format!("0.0.0.0:{}", app.port)).await;
    assert!(
        ready.status.success(),
        "{}",
        String::from_utf8_lossy(&ready.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&ready.stdout), "ready\n");

    // A server that is up but cannot reach its database answers 503: not ready.
    let unready = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let unready_addr = unready.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut stream, _) = unready.accept().unwrap();
        let _ = stream.read(&mut [0; 4096]);
        let body = r#"{"status":"unavailable","reason":"database unreachable"}"#;
        let _ = write!(
            stream,
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    let out = ready_command(&app, &unready_addr.to_string()).await;
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("503") && said.contains("database unreachable"),
        "{said}"
    );

    // Nothing listening: not ready, and it says where it asked.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_addr = closed.local_addr().unwrap();
    drop(closed);
    let out = ready_command(&app, &closed_addr.to_string()).await;
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!("http://{closed_addr}/readyz")),
        "{said}"
    );
}

#[tokio::test]
async fn cli_creates_tenants_clients_and_admins_with_json_output() {
    let url = fresh_database().await;
    let key = gatehouse::crypto::seal::MasterKey::generate_text();
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut cmd = gatehouse_cli(&url, &key);
        cmd.args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        {
            use std::io::Write;
            let mut input = child.stdin.take().unwrap();
            if let Some(text) = stdin {
                input.write_all(text.as_bytes()).unwrap();
            }
        }
        child.wait_with_output().unwrap()
    };
    let out = run(
        &[
            "tenant",
            "create",
            "acme",
            "--domain",
            "login.acme.test",
            "--json",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tenant: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(tenant["slug"], "acme");
    assert_eq!(tenant["domain"], "acme.localhost:8080");

    let out = run(&["tenant", "list", "--json"], None);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["custom_domains"][0], "login.acme.test");

    let out = run(
        &[
            "client",
            "create",
            "--tenant",
            "acme",
            "--name",
            "Web",
            "--type",
            "regular_web",
            "--callback",
            "https://app.example.com/cb",
            "--json",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let client: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(client["client_id"].as_str().unwrap().len(), 32);
    assert!(client["client_secret"].as_str().unwrap().len() >= 32);

    let out = run(
        &[
            "client",
            "create",
            "--tenant",
            "acme",
            "--name",
            "Robot",
            "--type",
            "non_interactive",
            "--management-scopes",
            "all",
            "--json",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let robot: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(robot["audience"], "http://acme.localhost:8080/api/v2/");

    let out = run(
        &["admin", "create", "--email", "Ops@Example.com", "--json"],
        Some("a long password\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["email"],
        "ops@example.com"
    );

    // Errors: a clear message and a non-zero exit.
    for (args, stdin, needle) in [
        (vec!["tenant", "create", "Bad_Slug"], None, "slug"),
        (vec!["tenant", "create", "acme"], None, "already exists"),
        (
            vec![
                "client", "create", "--tenant", "nobody", "--name", "x", "--type", "spa",
            ],
            None,
            "--tenant",
        ),
        (
            vec![
                "client", "create", "--tenant", "acme", "--name", "x", "--type", "web",
            ],
            None,
            "invalid value",
        ),
        (
            vec![
                "client",
                "create",
                "--tenant",
                "acme",
                "--name",
                "x",
                "--type",
                "regular_web",
                "--callback",
                "javascript:alert(1)",
            ],
            None,
            "callbacks[0]",
        ),
        (
            vec![
                "client",
                "create",
                "--tenant",
                "acme",
                "--name",
                "x",
                "--type",
                "non_interactive",
                "--management-scopes",
                "read:everything",
            ],
            None,
            "scope",
        ),
        (
            vec!["admin", "create", "--email", "ops2@example.com"],
            Some("short\n"),
            "password",
        ),
        (
            vec!["admin", "create", "--email", "not-an-email"],
            Some("a long password\n"),
            "email",
        ),
    ] {
        let out = run(&args, stdin);
        assert!(!out.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn invalid_configuration_stops_start_up_naming_the_variable() {
    let url = fresh_database().await;
    let out = gatehouse_cli(&url, "not-a-key")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("GATEHOUSE_MASTER_KEY"));
    let out = gatehouse_cli(&url, &gatehouse::crypto::seal::MasterKey::generate_text())
        .env("GATEHOUSE_LISTEN", "nowhere")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("GATEHOUSE_LISTEN"));
    let mut no_key = gatehouse_cli(&url, "");
    no_key.env_remove("GATEHOUSE_MASTER_KEY");
    let out = no_key.arg("migrate").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("GATEHOUSE_MASTER_KEY is required"));
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
