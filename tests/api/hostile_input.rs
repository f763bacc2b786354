//! SQL metacharacters, NUL bytes and over-long values through every door: a clear 4xx, never a
//! 500, and nothing in the database is harmed.

use serde_json::{json, Value};

use crate::helpers::*;

const NASTY: &[&str] = &[
    "'; DROP TABLE tenants; --",
    "\" OR 1=1 --",
    "%00",
    "\0",
    "\u{202e}evil",
    "${jndi:ldap://x}",
    "../../etc/passwd",
];

#[tokio::test]
async fn hostile_values_in_login_endpoints_never_cause_a_server_error() {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let client = app.create_client(&tenant, "regular_web").await;
    for value in NASTY
        .iter()
        .map(|v| v.to_string())
        .chain(["x".repeat(5000)])
    {
        for (path, params) in [
            (
                "/authorize",
                vec![
                    ("client_id", value.as_str()),
                    ("redirect_uri", value.as_str()),
                    ("response_type", "code"),
                ],
            ),
            (
                "/authorize",
                vec![
                    ("client_id", client.client_id.as_str()),
                    ("redirect_uri", client.callback.as_str()),
                    ("response_type", "code"),
                    ("state", value.as_str()),
                    ("connection", value.as_str()),
                ],
            ),
            (
                "/login/callback",
                vec![("state", value.as_str()), ("code", value.as_str())],
            ),
            (
                "/v2/logout",
                vec![("client_id", value.as_str()), ("returnTo", value.as_str())],
            ),
        ] {
            let res = app
                .http
                .get(app.tenant_url(&tenant, path))
                .query(&params)
                .send()
                .await
                .unwrap();
            assert!(
                res.status().as_u16() < 500,
                "{path} {value:?}: {}",
                res.status()
            );
        }
        let res = app
            .http
            .post(app.tenant_url(&tenant, "/oauth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", value.as_str()),
                ("client_secret", value.as_str()),
                ("code", value.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert!(
            res.status().as_u16() < 500,
            "/oauth/token {value:?}: {}",
            res.status()
        );
    }
    let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(tenants, 1);
}

#[tokio::test]
async fn hostile_values_in_the_management_api_get_4xx_and_are_stored_only_literally() {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let token = app
        .management_token(
            &tenant,
            &[
                "read:connections",
                "create:connections",
                "read:clients",
                "create:clients",
                "read:users",
                "read:logs",
                "read:client_grants",
            ],
        )
        .await;
    let api = |path: &str| app.tenant_url(&tenant, &format!("/api/v2{path}"));
    for value in NASTY {
        for path in [
            "/connections",
            "/clients",
            "/users",
            "/logs",
            "/client-grants",
        ] {
            for param in [
                "name",
                "strategy",
                "q",
                "email",
                "type",
                "user_id",
                "audience",
                "client_id",
                "from",
            ] {
                let res = app
                    .http
                    .get(api(path))
                    .bearer_auth(&token)
                    .query(&[(param, *value)])
                    .send()
                    .await
                    .unwrap();
                assert!(
                    res.status().as_u16() < 500,
                    "GET {path}?{param}={value:?}: {}",
                    res.status()
                );
            }
            let res = app
                .http
                .get(format!("{}/{}", api(path), urlencode(value)))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert!(
                res.status().as_u16() < 500,
                "GET {path}/{value:?}: {}",
                res.status()
            );
        }
        let res = app.http.post(api("/connections")).bearer_auth(&token).json(&json!({"name": value, "strategy": "exact", "options": {"client_id": value, "client_secret": "s"}})).send().await.unwrap();
        assert_eq!(res.status(), 400, "connection named {value:?}");
        // A client name is free text: stored literally, or refused when it holds control characters.
        let res = app
            .http
            .post(api("/clients"))
            .bearer_auth(&token)
            .json(&json!({"name": value, "app_type": "regular_web"}))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert!(
            status == 201 || status == 400,
            "client named {value:?}: {status}"
        );
        if status == 201 {
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["name"], *value.trim());
        }
    }
    let res = app.http.post(api("/connections")).bearer_auth(&token).json(&json!({"name": "ok", "display_name": "x".repeat(10_000), "strategy": "exact", "options": {"client_id": "a", "client_secret": "s"}})).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let tables: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(tables > 10, "every table is still there");
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
