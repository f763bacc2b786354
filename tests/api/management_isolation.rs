//! Tenant isolation through every management endpoint: a token of tenant A sees and changes
//! only A's objects, and guessing B's ids answers exactly as a nonexistent id does.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::management_support::*;

/// Tenant B's objects, made with B's own token.
struct Other {
    token: String,
    tenant: TestTenant,
    connection: String,
    client: String,
    grant: String,
    user: String,
    log: String,
    kid: String,
}

async fn other_tenant(api: &Api) -> Other {
    let tenant = api.app.create_tenant("globex").await;
    let token = api
        .app
        .management_token(&tenant, gatehouse::services::clients::MANAGEMENT_SCOPES)
        .await;
    let call = |method: Method, path: &str, body: Option<Value>| {
        let mut req = api
            .app
            .http
            .request(
                method,
                api.app.tenant_url(&tenant, &format!("/api/v2{path}")),
            )
            .bearer_auth(&token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        async move { into_res(req.send().await.unwrap()).await }
    };
    let connection = call(
        Method::POST,
        "/connections",
        Some(exact_body("secret-conn")),
    )
    .await;
    let client = call(
        Method::POST,
        "/clients",
        Some(json!({ "name": "b-m2m", "app_type": "non_interactive" })),
    )
    .await;
    let client = client.body["client_id"].as_str().unwrap().to_owned();
    let audience = format!("{}api/v2/", tenant.issuer);
    let grant = call(
        Method::POST,
        "/client-grants",
        Some(json!({ "client_id": client, "audience": audience, "scope": ["read:users"] })),
    )
    .await;
    let user = "exact|globex-user".to_owned();
    sqlx::query(
        "INSERT INTO users (tenant_id, user_id, email) VALUES ($1, $2, 'b@globex.example')",
    )
    .bind(tenant.tenant_id)
    .bind(&user)
    .execute(&api.app.pool)
    .await
    .unwrap();
    let logs = call(Method::GET, "/logs", None).await;
    let keys = call(Method::GET, "/keys/signing", None).await;
    Other {
        connection: connection.body["id"].as_str().unwrap().to_owned(),
        grant: grant.body["id"].as_str().unwrap().to_owned(),
        log: logs.body[0]["log_id"].as_str().unwrap().to_owned(),
        kid: keys.body[0]["kid"].as_str().unwrap().to_owned(),
        client,
        user,
        token,
        tenant,
    }
}

fn encode(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

#[tokio::test]
async fn tenant_a_cannot_read_change_or_detect_tenant_b_objects_through_any_endpoint() {
    let api = Api::start().await;
    let own_connection = api.create_connection("mine").await;
    let b = other_tenant(&api).await;

    // (method, path with B's id, the same path with an id nobody has, body)
    let user = encode(&b.user);
    let cases: Vec<(Method, String, String, Option<Value>)> = vec![
        (
            Method::GET,
            format!("/connections/{}", b.connection),
            "/connections/con_nope".into(),
            None,
        ),
        (
            Method::PATCH,
            format!("/connections/{}", b.connection),
            "/connections/con_nope".into(),
            Some(json!({ "display_name": "pwned" })),
        ),
        (
            Method::DELETE,
            format!("/connections/{}", b.connection),
            "/connections/con_nope".into(),
            None,
        ),
        (
            Method::GET,
            format!("/connections/{}/clients", b.connection),
            "/connections/con_nope/clients".into(),
            None,
        ),
        (
            Method::PATCH,
            format!("/connections/{}/clients", b.connection),
            "/connections/con_nope/clients".into(),
            Some(json!([{ "client_id": "nope", "status": true }])),
        ),
        (
            Method::GET,
            format!("/connections/{}/status", b.connection),
            "/connections/con_nope/status".into(),
            None,
        ),
        (
            Method::GET,
            format!("/clients/{}", b.client),
            "/clients/nope".into(),
            None,
        ),
        (
            Method::PATCH,
            format!("/clients/{}", b.client),
            "/clients/nope".into(),
            Some(json!({ "name": "pwned" })),
        ),
        (
            Method::DELETE,
            format!("/clients/{}", b.client),
            "/clients/nope".into(),
            None,
        ),
        (
            Method::POST,
            format!("/clients/{}/rotate-secret", b.client),
            "/clients/nope/rotate-secret".into(),
            None,
        ),
        (
            Method::GET,
            format!("/client-grants/{}", b.grant),
            "/client-grants/cgr_nope".into(),
            None,
        ),
        (
            Method::PATCH,
            format!("/client-grants/{}", b.grant),
            "/client-grants/cgr_nope".into(),
            Some(json!({ "scope": ["read:logs"] })),
        ),
        (
            Method::DELETE,
            format!("/client-grants/{}", b.grant),
            "/client-grants/cgr_nope".into(),
            None,
        ),
        (
            Method::GET,
            format!("/users/{user}"),
            "/users/exact%7Cnope".into(),
            None,
        ),
        (
            Method::DELETE,
            format!("/users/{user}"),
            "/users/exact%7Cnope".into(),
            None,
        ),
        (
            Method::GET,
            format!("/logs/{}", b.log),
            format!("/logs/{}", uuid::Uuid::new_v4()),
            None,
        ),
        (
            Method::GET,
            format!("/keys/signing/{}", b.kid),
            "/keys/signing/nope".into(),
            None,
        ),
        // B's client named inside A's own objects is as unknown as a made-up one.
        (
            Method::PATCH,
            format!("/connections/{own_connection}/clients"),
            format!("/connections/{own_connection}/clients"),
            Some(json!([{ "client_id": b.client, "status": true }])),
        ),
        (
            Method::POST,
            "/connections".into(),
            "/connections".into(),
            Some(
                json!({ "name": "x", "strategy": "exact", "options": {"client_id": "a", "client_secret": "b"}, "enabled_clients": [b.client] }),
            ),
        ),
        (
            Method::POST,
            "/client-grants".into(),
            "/client-grants".into(),
            Some(
                json!({ "client_id": b.client, "audience": format!("{}api/v2/", api.tenant.issuer), "scope": ["read:users"] }),
            ),
        ),
    ];
    for (method, guessed, made_up, body) in cases {
        // The made-up request names a made-up client where B's request names B's.
        let send = |path: &str, with_b: bool| {
            let mut req = api.request(method.clone(), path);
            if let Some(body) = &body {
                let text = body.to_string();
                let text = if with_b {
                    text
                } else {
                    text.replace(&b.client, "nope")
                };
                req = req.header("Content-Type", "application/json").body(text);
            }
            req
        };
        let for_b = api.send(send(&guessed, true)).await;
        let for_nobody = api.send(send(&made_up, false)).await;
        assert!(
            for_b.status == 404 || for_b.status == 400,
            "{method} {guessed}: {}",
            for_b.status
        );
        let normalise = |v: &Value| v.to_string().replace(&b.client, "nope");
        assert_eq!(
            (for_b.status, normalise(&for_b.body)),
            (for_nobody.status, normalise(&for_nobody.body)),
            "{method} {guessed} must answer as for an id nobody has"
        );
    }

    // Listings of A show none of B's objects.
    for path in [
        "/connections",
        "/clients",
        "/client-grants",
        "/users",
        "/logs?per_page=100",
        "/keys/signing",
    ] {
        let text = api.get(path).await.body.to_string();
        for id in [&b.connection, &b.client, &b.grant, &b.user, &b.log, &b.kid] {
            assert!(!text.contains(id.as_str()), "{path} shows B's {id}");
        }
    }

    // And B's objects are untouched.
    let b_get = |path: String| {
        let req = api
            .app
            .http
            .get(api.app.tenant_url(&b.tenant, &format!("/api/v2{path}")))
            .bearer_auth(&b.token);
        async move { into_res(req.send().await.unwrap()).await }
    };
    let connection = b_get(format!("/connections/{}", b.connection)).await;
    assert_eq!(connection.status, 200);
    assert!(connection.body.get("display_name").is_none());
    assert_eq!(
        b_get(format!("/clients/{}", b.client)).await.body["name"],
        "b-m2m"
    );
    assert_eq!(
        b_get(format!("/client-grants/{}", b.grant)).await.body["scope"],
        json!(["read:users"])
    );
    assert_eq!(
        b_get(format!("/users/{}", encode(&b.user))).await.status,
        200
    );
}
