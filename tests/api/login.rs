//! The brokered login end to end: /authorize → fake Exact → /login/callback → /oauth/token,
//! with tokens verified by an independent JWT library against the tenant's JWKS.

use std::collections::HashMap;

use fake_exact::FakeExactHandle;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::helpers::*;

pub struct LoginSetup {
    pub app: TestApp,
    pub tenant: TestTenant,
    pub web: TestClient,
    pub spa: TestClient,
    pub fake: FakeExactHandle,
}

pub async fn login_setup() -> LoginSetup {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let web = app.create_client(&tenant, "regular_web").await;
    let spa = app.create_client(&tenant, "spa").await;
    let fake = start_fake_exact().await;
    app.create_exact_connection(&tenant, "exact", &fake, &[&web, &spa])
        .await;
    LoginSetup {
        app,
        tenant,
        web,
        spa,
        fake,
    }
}

pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// `/authorize` with these parameters over the defaults, by the test browser.
pub async fn authorize(
    s: &LoginSetup,
    client: &TestClient,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", &client.client_id),
        ("redirect_uri", &client.callback),
        ("scope", "openid profile email offline_access"),
        ("state", "app-state-123"),
        ("nonce", "nonce-456"),
        ("connection", "exact"),
    ];
    for (k, v) in extra {
        params.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            params.push((k, v));
        }
    }
    s.app
        .http
        .get(s.app.tenant_url(&s.tenant, "/authorize"))
        .query(&params)
        .send()
        .await
        .unwrap()
}

/// Follows a login through the fake Exact back to the application; returns the final redirect.
pub async fn login(
    s: &LoginSetup,
    client: &TestClient,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let res = authorize(s, client, extra).await;
    assert_eq!(
        res.status(),
        302,
        "authorize: {}",
        res.text().await.unwrap_or_default()
    );
    let to_exact = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(to_exact.starts_with(&s.fake.base_url()), "{to_exact}");
    let res = s.app.http.get(&to_exact).send().await.unwrap();
    assert_eq!(res.status(), 302, "fake exact authorize");
    let back = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        back.starts_with(&format!("{}login/callback", s.tenant.issuer)),
        "{back}"
    );
    s.app.http.get(&back).send().await.unwrap()
}

pub async fn redeem(s: &LoginSetup, form: &[(&str, &str)]) -> reqwest::Response {
    s.app
        .http
        .post(s.app.tenant_url(&s.tenant, "/oauth/token"))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn jwks_key(s: &LoginSetup, token: &str) -> DecodingKey {
    s.app.signing_key_of(&s.tenant, token).await
}

#[tokio::test]
async fn a_confidential_web_client_completes_the_whole_login_and_gets_verifiable_tokens() {
    let s = login_setup().await;
    let res = login(&s, &s.web, &[]).await;
    assert_eq!(res.status(), 302);
    let (location, params) = location_params(&res);
    assert!(location.starts_with(&s.web.callback));
    assert_eq!(params["state"], "app-state-123");
    assert_eq!(params["iss"], s.tenant.issuer);
    let code = params["code"].clone();

    let token = redeem(
        &s,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &s.web.callback),
            ("client_id", &s.web.client_id),
            ("client_secret", s.web.client_secret.as_deref().unwrap()),
        ],
    )
    .await;
    assert_eq!(token.status(), 200);
    assert_eq!(token.headers()["cache-control"], "no-store");
    let body: Value = token.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    let id_token = body["id_token"].as_str().unwrap();

    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&s.web.client_id]);
    validation.set_issuer(&[&s.tenant.issuer]);
    let claims =
        decode::<HashMap<String, Value>>(id_token, &jwks_key(&s, id_token).await, &validation)
            .unwrap()
            .claims;
    assert_eq!(claims["sub"], "exact|b0b2c3d4-0000-4000-8000-000000000001");
    assert_eq!(claims["nonce"], "nonce-456");
    assert_eq!(claims["name"], "Jan de Vries");
    assert_eq!(claims["email"], "jan@example.nl");
    assert_eq!(claims["email_verified"], false);
    assert!(claims.contains_key("auth_time"));

    // The access token is opaque (no audience was asked for, as with Auth0) and opens
    // /userinfo; altered by one character, it opens nothing.
    let access_token = body["access_token"].as_str().unwrap();
    assert!(
        decode_header(access_token).is_err(),
        "an opaque access token, not a JWT: {access_token}"
    );
    let userinfo_of = |token: String| {
        let http = s.app.http.clone();
        let url = s.app.tenant_url(&s.tenant, "/userinfo");
        async move { http.get(url).bearer_auth(token).send().await.unwrap() }
    };
    let mut altered = access_token.to_owned();
    let last = altered.pop().unwrap();
    altered.push(if last == 'A' { 'B' } else { 'A' });
    for forged in [altered, format!("{access_token}x"), "v1.000000.AAAA".into()] {
        let res = userinfo_of(forged.clone()).await;
        assert_eq!(res.status(), 401, "{forged}");
    }
    let userinfo: Value = userinfo_of(access_token.to_owned())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        userinfo["sub"],
        "exact|b0b2c3d4-0000-4000-8000-000000000001"
    );
    assert_eq!(userinfo["given_name"], "Jan");

    // The refresh token rotates.
    let refresh = body["refresh_token"].as_str().unwrap();
    let rotated: Value = redeem(
        &s,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", &s.web.client_id),
            ("client_secret", s.web.client_secret.as_deref().unwrap()),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(rotated["refresh_token"].as_str().unwrap() != refresh);
    assert!(rotated["access_token"].is_string());

    // Exact was called as EXACT.md says: credentials in the body, JSON asked for.
    let token_calls = s.fake.token_requests();
    assert_eq!(token_calls.len(), 1, "the code is exchanged exactly once");
    assert!(token_calls[0].form.contains_key("client_secret"));
    assert!(token_calls[0].authorization_header.is_none());
    assert_eq!(
        s.fake.me_requests()[0].accept.as_deref(),
        Some("application/json")
    );

    // The log says who: the browser for the login, the application's server for the exchange.
    let requesters: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT type, ip, user_agent FROM events WHERE tenant_id = $1
           AND type IN ('login_success', 'code_redeemed') ORDER BY at",
    )
    .bind(s.tenant.tenant_id)
    .fetch_all(&s.app.pool)
    .await
    .unwrap();
    let from_test_browser = (
        Some("127.0.0.1".to_owned()),
        Some(TEST_USER_AGENT.to_owned()),
    );
    assert_eq!(
        requesters,
        vec![
            (
                "login_success".into(),
                from_test_browser.0.clone(),
                from_test_browser.1.clone()
            ),
            (
                "code_redeemed".into(),
                from_test_browser.0,
                from_test_browser.1
            ),
        ]
    );
}

#[tokio::test]
async fn a_public_pkce_client_completes_the_login_without_a_secret() {
    let s = login_setup().await;
    let res = login(
        &s,
        &s.spa,
        &[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("scope", "openid profile"),
        ],
    )
    .await;
    let (_, params) = location_params(&res);
    let token = redeem(
        &s,
        &[
            ("grant_type", "authorization_code"),
            ("code", &params["code"]),
            ("redirect_uri", &s.spa.callback),
            ("client_id", &s.spa.client_id),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(token.status(), 200);
    let body: Value = token.json().await.unwrap();
    let id_token = body["id_token"].as_str().unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&s.spa.client_id]);
    validation.set_issuer(&[&s.tenant.issuer]);
    let claims =
        decode::<HashMap<String, Value>>(id_token, &jwks_key(&s, id_token).await, &validation)
            .unwrap()
            .claims;
    assert_eq!(claims["sub"], "exact|b0b2c3d4-0000-4000-8000-000000000001");
    assert!(
        !claims.contains_key("email"),
        "email scope was not asked for"
    );
    assert!(
        body.get("refresh_token").is_none(),
        "offline_access was not asked for"
    );
}
