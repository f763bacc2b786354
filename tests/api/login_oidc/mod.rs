//! `oidc` and `oauth2` connections end to end over real HTTP: against the fake OpenID Connect
//! provider (every ID token defect refused with a trace naming it), against a second Gatehouse
//! tenant as the upstream, and an `oauth2` connection reading its profile by JSON pointers.

mod defects;
mod flow;
mod gatehouse_upstream;
mod oauth2;

use fake_exact::oidc::{FakeOidc, FakeOidcHandle, OidcClient};
use gatehouse::services::{self, Actor};
use serde_json::{json, Value};

use crate::helpers::*;

pub struct OidcSetup {
    pub app: TestApp,
    pub tenant: TestTenant,
    pub web: TestClient,
    pub idp: FakeOidcHandle,
}

/// A tenant with a web application and a connection of `strategy` named `name` with
/// `options` (the client's id and secret added), enabled for it.
pub async fn connect(
    app: &TestApp,
    tenant: &TestTenant,
    web: &TestClient,
    strategy: &str,
    name: &str,
    options: Value,
) {
    let input = services::connections::ConnectionInput {
        name: Some(name.to_owned()),
        strategy: Some(strategy.into()),
        options: Some(options),
        enabled_clients: Some(vec![web.client_id.clone()]),
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
    .expect("create connection");
}

pub async fn oidc_setup_with(extra: Value) -> OidcSetup {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let web = app.create_client(&tenant, "regular_web").await;
    let upstream_client = OidcClient {
        client_id: "gatehouse-at-idp".into(),
        client_secret: "idp-secret-Zq8!".into(),
    };
    let idp = FakeOidc::start(upstream_client.clone()).await;
    let mut options = json!({
        "client_id": upstream_client.client_id,
        "client_secret": upstream_client.client_secret,
        "discovery_url": idp.discovery_url(),
    });
    options
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    connect(&app, &tenant, &web, "oidc", "idp", options).await;
    OidcSetup {
        app,
        tenant,
        web,
        idp,
    }
}

pub async fn oidc_setup() -> OidcSetup {
    oidc_setup_with(json!({})).await
}

/// `/authorize` for `connection`, as the application sends it; the answer.
pub async fn start(
    app: &TestApp,
    tenant: &TestTenant,
    web: &TestClient,
    connection: &str,
) -> reqwest::Response {
    app.http
        .get(app.tenant_url(tenant, "/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", web.client_id.as_str()),
            ("redirect_uri", web.callback.as_str()),
            ("scope", "openid profile email offline_access"),
            ("state", "app-state"),
            ("nonce", "app-nonce"),
            ("connection", connection),
        ])
        .send()
        .await
        .unwrap()
}

/// `/authorize` for `connection` when it cannot reach the upstream: the parameters the
/// application is sent back with, and the trace of the failed login.
pub async fn refused_at_authorize(
    app: &TestApp,
    tenant: &TestTenant,
    web: &TestClient,
    connection: &str,
) -> (std::collections::HashMap<String, String>, Value) {
    let res = start(app, tenant, web, connection).await;
    let (location, params) = location_params(&res);
    assert!(location.starts_with(&web.callback), "{location}");
    (params, last_failure(app).await)
}

/// `/authorize` for `connection`; the redirect to the upstream.
pub async fn authorize(
    app: &TestApp,
    tenant: &TestTenant,
    web: &TestClient,
    connection: &str,
) -> String {
    let res = start(app, tenant, web, connection).await;
    assert_eq!(
        res.status(),
        302,
        "authorize: {}",
        res.text().await.unwrap_or_default()
    );
    res.headers()["location"].to_str().unwrap().to_owned()
}

/// A whole login through the upstream; the application's callback parameters.
pub async fn login_through(
    app: &TestApp,
    tenant: &TestTenant,
    web: &TestClient,
    connection: &str,
) -> std::collections::HashMap<String, String> {
    let upstream = authorize(app, tenant, web, connection).await;
    let res = app.http.get(&upstream).send().await.unwrap();
    assert_eq!(
        res.status(),
        302,
        "upstream authorize: {}",
        res.text().await.unwrap_or_default()
    );
    let back = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        back.starts_with(&format!("{}login/callback", tenant.issuer)),
        "{back}"
    );
    let res = app.http.get(&back).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let (location, params) = location_params(&res);
    assert!(location.starts_with(&web.callback), "{location}");
    params
}

/// The application's code redeemed; the token answer.
pub async fn redeem(app: &TestApp, tenant: &TestTenant, web: &TestClient, code: &str) -> Value {
    let res = app
        .http
        .post(app.tenant_url(tenant, "/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", web.callback.as_str()),
            ("client_id", web.client_id.as_str()),
            ("client_secret", web.client_secret.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// The newest login failure's details, with its description.
pub async fn last_failure(app: &TestApp) -> Value {
    sqlx::query_scalar("SELECT details || jsonb_build_object('description', description) FROM events WHERE type = 'login_failure' ORDER BY at DESC LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .expect("a login_failure event")
}

pub async fn users(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}
