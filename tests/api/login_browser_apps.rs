//! Browser applications and sign-out: cross-origin calls to `/oauth/token`, `/userinfo` and
//! `/oauth/revoke` from an application's `web_origins` only, and `/oauth/revoke` (RFC 7009).

use gatehouse::services::{self, Actor};
use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;
use crate::login::*;

const SPA_ORIGIN: &str = "https://spa.example.com";
const OTHER_ORIGIN: &str = "https://evil.example.net";

/// Lists `origin` (given with a trailing `/`, kept without) as the web origin of the setup's SPA.
async fn set_spa_web_origin(s: &LoginSetup, origin: &str) {
    let input = services::clients::ClientInput {
        web_origins: Some(vec![format!("{origin}/")]),
        ..Default::default()
    };
    let client = s
        .app
        .change_config(services::clients::update(
            &s.app.pool,
            s.tenant.tenant_id,
            &s.spa.client_id,
            &input,
            None,
            &Actor::named("test"),
        ))
        .await
        .unwrap();
    assert_eq!(client.web_origins, [origin], "kept as an origin");
}

/// The SPA runs on its own origin.
async fn with_web_origin(s: &LoginSetup) {
    set_spa_web_origin(s, SPA_ORIGIN).await;
}

async fn preflight(s: &LoginSetup, path: &str, origin: &str, method: &str) -> reqwest::Response {
    s.app
        .http
        .request(Method::OPTIONS, s.app.tenant_url(&s.tenant, path))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "content-type,auth0-client",
        )
        .send()
        .await
        .unwrap()
}

fn allowed_origin(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned())
}

/// A PKCE login of the SPA: its code.
async fn spa_code(s: &LoginSetup) -> String {
    spa_code_with(s, "openid profile").await
}

async fn spa_code_with(s: &LoginSetup, scope: &str) -> String {
    let res = login(
        s,
        &s.spa,
        &[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("scope", scope),
        ],
    )
    .await;
    location_params(&res).1["code"].clone()
}

async fn redeem_from(s: &LoginSetup, code: &str, origin: Option<&str>) -> reqwest::Response {
    let mut req = s
        .app
        .http
        .post(s.app.tenant_url(&s.tenant, "/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &s.spa.callback),
            ("client_id", &s.spa.client_id),
            ("code_verifier", VERIFIER),
        ]);
    if let Some(origin) = origin {
        req = req.header("origin", origin);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_browser_application_logs_in_across_origins_from_its_web_origins_only() {
    let s = login_setup().await;
    with_web_origin(&s).await;

    // The preflights a browser sends before the token and userinfo calls.
    let res = preflight(&s, "/oauth/token", SPA_ORIGIN, "POST").await;
    assert_eq!(res.status(), 204);
    assert_eq!(allowed_origin(&res).as_deref(), Some(SPA_ORIGIN));
    let allowed_headers = res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed_headers.contains("content-type") && allowed_headers.contains("auth0-client"));
    assert!(
        res.headers()
            .get("access-control-allow-credentials")
            .is_none(),
        "never with cookies"
    );
    let res = preflight(&s, "/userinfo", SPA_ORIGIN, "GET").await;
    assert_eq!(res.status(), 204);
    assert!(res.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("GET"));
    let res = preflight(&s, "/oauth/revoke", SPA_ORIGIN, "POST").await;
    assert_eq!(res.status(), 204);
    // Another origin, or a method the endpoint does not serve, is refused.
    let res = preflight(&s, "/oauth/token", OTHER_ORIGIN, "POST").await;
    assert_eq!(res.status(), 403);
    assert_eq!(allowed_origin(&res), None);
    let res = preflight(&s, "/oauth/token", SPA_ORIGIN, "DELETE").await;
    assert_eq!(res.status(), 403);
    assert_eq!(allowed_origin(&res), None);

    // The code exchange itself, readable by the SPA's page.
    let res = redeem_from(&s, &spa_code(&s).await, Some(SPA_ORIGIN)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(allowed_origin(&res).as_deref(), Some(SPA_ORIGIN));
    assert!(res.headers()["vary"].to_str().unwrap().contains("Origin"));
    let tokens: Value = res.json().await.unwrap();
    let access_token = tokens["access_token"].as_str().unwrap().to_owned();

    // From another origin the exchange is answered, but no browser lets that page read it.
    let res = redeem_from(&s, &spa_code(&s).await, Some(OTHER_ORIGIN)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(allowed_origin(&res), None);
    // A server (no Origin) gets no cross-origin headers at all.
    let res = redeem_from(&s, &spa_code(&s).await, None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(allowed_origin(&res), None);
    // An error the page must be able to read (a spent code) carries them too.
    let code = spa_code(&s).await;
    assert_eq!(redeem_from(&s, &code, None).await.status(), 200);
    let res = redeem_from(&s, &code, Some(SPA_ORIGIN)).await;
    assert_eq!(res.status(), 400);
    assert_eq!(allowed_origin(&res).as_deref(), Some(SPA_ORIGIN));

    // /userinfo for the SPA's token, and its 401 for a bad one.
    let userinfo = |token: String, origin: &'static str| {
        let req = s
            .app
            .http
            .get(s.app.tenant_url(&s.tenant, "/userinfo"))
            .bearer_auth(token)
            .header("origin", origin);
        async move { req.send().await.unwrap() }
    };
    let res = userinfo(access_token.clone(), SPA_ORIGIN).await;
    assert_eq!(res.status(), 200);
    assert_eq!(allowed_origin(&res).as_deref(), Some(SPA_ORIGIN));
    let res = userinfo(access_token, OTHER_ORIGIN).await;
    assert_eq!(res.status(), 200);
    assert_eq!(allowed_origin(&res), None);
    let res = userinfo("not-a-token".into(), SPA_ORIGIN).await;
    assert_eq!(res.status(), 401);
    assert_eq!(allowed_origin(&res).as_deref(), Some(SPA_ORIGIN));
}

#[tokio::test]
async fn an_origin_is_allowed_only_for_the_applications_that_list_it() {
    let s = login_setup().await;
    with_web_origin(&s).await;
    // The web application does not list the SPA's origin: its exchange is not for that page.
    let res = login(&s, &s.web, &[]).await;
    let code = location_params(&res).1["code"].clone();
    let res = s
        .app
        .http
        .post(s.app.tenant_url(&s.tenant, "/oauth/token"))
        .header("origin", SPA_ORIGIN)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &s.web.callback),
            ("client_id", &s.web.client_id),
            ("client_secret", s.web.client_secret.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(allowed_origin(&res), None);
    // Nor does another tenant's preflight answer to it.
    let other = s.app.create_tenant("other").await;
    let res = s
        .app
        .http
        .request(Method::OPTIONS, s.app.tenant_url(&other, "/oauth/token"))
        .header("origin", SPA_ORIGIN)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn web_origins_must_be_origins() {
    let s = login_setup().await;
    for (bad, field) in [
        (vec!["https://spa.example.com/app"], "web_origins[0]"),
        (
            vec!["https://spa.example.com", "https://*.example.com"],
            "web_origins[1]",
        ),
        (vec!["com.example.app:/cb"], "web_origins[0]"),
    ] {
        let input = services::clients::ClientInput {
            web_origins: Some(bad.iter().map(|v| v.to_string()).collect()),
            ..Default::default()
        };
        let err = services::clients::update(
            &s.app.pool,
            s.tenant.tenant_id,
            &s.spa.client_id,
            &input,
            None,
            &Actor::named("test"),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains(field), "{bad:?}: {err}");
    }
}

/// A web login with `offline_access`: its refresh token.
async fn refresh_token_of_a_login(s: &LoginSetup) -> String {
    let res = login(s, &s.web, &[]).await;
    let code = location_params(&res).1["code"].clone();
    let tokens: Value = redeem(
        s,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &s.web.callback),
            ("client_id", &s.web.client_id),
            ("client_secret", s.web.client_secret.as_deref().unwrap()),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    tokens["refresh_token"].as_str().unwrap().to_owned()
}

/// A PKCE login of the SPA with `offline_access`: its refresh token.
async fn spa_refresh_token(s: &LoginSetup) -> String {
    let code = spa_code_with(s, "openid profile offline_access").await;
    let tokens: Value = redeem_from(s, &code, None).await.json().await.unwrap();
    tokens["refresh_token"].as_str().unwrap().to_owned()
}

async fn revoke(s: &LoginSetup, client: &TestClient, token: &str) -> reqwest::Response {
    let mut form = vec![
        ("token", token),
        ("token_type_hint", "refresh_token"),
        ("client_id", client.client_id.as_str()),
    ];
    if let Some(secret) = client.client_secret.as_deref() {
        form.push(("client_secret", secret));
    }
    s.app
        .http
        .post(s.app.tenant_url(&s.tenant, "/oauth/revoke"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn refresh(s: &LoginSetup, token: &str) -> reqwest::Response {
    redeem(
        s,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", &s.web.client_id),
            ("client_secret", s.web.client_secret.as_deref().unwrap()),
        ],
    )
    .await
}

async fn error_of(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_grant_for_its_own_application_only() {
    let s = login_setup().await;
    let discovery = s.app.discovery(&s.tenant).await;
    assert_eq!(
        discovery["revocation_endpoint"],
        format!("{}oauth/revoke", s.tenant.issuer)
    );

    let first = refresh_token_of_a_login(&s).await;
    let rotated: Value = refresh(&s, &first).await.json().await.unwrap();
    let live = rotated["refresh_token"].as_str().unwrap().to_owned();

    // Another application of the tenant may not end this grant.
    let other = s.app.create_client(&s.tenant, "regular_web").await;
    assert_eq!(
        error_of(revoke(&s, &other, &live).await).await,
        (400, "unauthorized_client".into())
    );
    // Bad client credentials, and a missing token, are refused as at /oauth/token.
    let mut impostor = s.web.clone();
    impostor.client_secret = Some("wrong".into());
    assert_eq!(
        error_of(revoke(&s, &impostor, &live).await).await,
        (401, "invalid_client".into())
    );
    assert_eq!(
        error_of(revoke(&s, &s.web, "").await).await,
        (400, "invalid_request".into())
    );

    // Revoking the first (already rotated) token of the family ends the live one too.
    let res = revoke(&s, &s.web, &first).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(
        error_of(refresh(&s, &live).await).await,
        (400, "invalid_grant".into())
    );
    // Revoking again, or a token nobody issued, is not an error (RFC 7009 §2.2).
    assert_eq!(revoke(&s, &s.web, &live).await.status(), 200);
    assert_eq!(revoke(&s, &s.web, "never-issued").await.status(), 200);

    // The grant is the user's in the application, as at Auth0: their other session there ends
    // too; their session in another application does not.
    let here = refresh_token_of_a_login(&s).await;
    let elsewhere = spa_refresh_token(&s).await;
    let also_here = refresh_token_of_a_login(&s).await;
    assert_eq!(revoke(&s, &s.web, &also_here).await.status(), 200);
    assert_eq!(
        error_of(refresh(&s, &here).await).await,
        (400, "invalid_grant".into())
    );
    let res = redeem(
        &s,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &elsewhere),
            ("client_id", &s.spa.client_id),
        ],
    )
    .await;
    assert_eq!(res.status(), 200, "the SPA's session is another grant");
    // A public application revokes with its client id alone.
    let elsewhere: Value = res.json().await.unwrap();
    let elsewhere = elsewhere["refresh_token"].as_str().unwrap();
    assert_eq!(revoke(&s, &s.spa, elsewhere).await.status(), 200);
    let res = redeem(
        &s,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", elsewhere),
            ("client_id", &s.spa.client_id),
        ],
    )
    .await;
    assert_eq!(error_of(res).await, (400, "invalid_grant".into()));

    // An event for each revocation that ended a live grant, saying how many tokens it ended.
    let events: Vec<(String, Value)> = sqlx::query_as(
        "SELECT client_id, details || jsonb_build_object('ip', ip) FROM events
         WHERE tenant_id = $1 AND type = 'refresh_token_revoked' ORDER BY at",
    )
    .bind(s.tenant.tenant_id)
    .fetch_all(&s.app.pool)
    .await
    .unwrap();
    assert!(
        events.iter().all(|(_, d)| d["ip"] == "127.0.0.1"),
        "{events:?}"
    );
    let counts: Vec<(&str, i64)> = events
        .iter()
        .map(|(client, details)| {
            (
                client.as_str(),
                details["revoked_refresh_tokens"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            (s.web.client_id.as_str(), 1),
            (s.web.client_id.as_str(), 2),
            (s.spa.client_id.as_str(), 1)
        ]
    );
}

/// The SPA of the setup, with its callback's origin listed (as web_message needs).
async fn with_callback_origin(s: &LoginSetup) {
    set_spa_web_origin(s, "https://app.example.com").await;
}

/// The target origin and response of a `response_mode=web_message` page.
async fn web_message(res: reqwest::Response) -> (String, String, Value) {
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = res.text().await.unwrap();
    let attr = |name: &str| {
        let marker = format!("{name}=\"");
        let start = html
            .find(&marker)
            .unwrap_or_else(|| panic!("{name} in {html}"))
            + marker.len();
        let raw = &html[start..start + html[start..].find('"').unwrap()];
        raw.replace("&quot;", "\"")
            .replace("&#34;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    };
    let response = serde_json::from_str(&attr("data-response")).unwrap();
    (csp, attr("data-origin"), response)
}

#[tokio::test]
async fn silent_authentication_by_web_message_tells_the_applications_window_to_log_in() {
    let s = login_setup().await;
    let silent = [
        ("prompt", "none"),
        ("response_mode", "web_message"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    // Not before the application lists its origin: then the answer goes by query.
    let res = authorize(&s, &s.spa, &silent).await;
    assert_eq!(res.status(), 302);
    let (_, params) = location_params(&res);
    assert_eq!(params["error"], "invalid_request");
    assert!(params["error_description"].contains("web origins"));

    with_callback_origin(&s).await;
    let (csp, origin, response) = web_message(authorize(&s, &s.spa, &silent).await).await;
    assert_eq!(origin, "https://app.example.com");
    assert!(
        csp.contains("frame-ancestors https://app.example.com;"),
        "framed by the application only: {csp}"
    );
    assert_eq!(response["error"], "login_required");
    assert_eq!(response["state"], "app-state-123");
    assert_eq!(response["iss"], s.tenant.issuer);
}

#[tokio::test]
async fn a_login_in_a_popup_hands_its_code_to_the_opener_by_web_message() {
    let s = login_setup().await;
    with_callback_origin(&s).await;
    let res = login(
        &s,
        &s.spa,
        &[
            ("response_mode", "web_message"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let (_, origin, response) = web_message(res).await;
    assert_eq!(origin, "https://app.example.com");
    assert_eq!(response["state"], "app-state-123");
    let code = response["code"].as_str().expect("a code").to_owned();
    let res = redeem_from(&s, &code, Some("https://app.example.com")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        allowed_origin(&res).as_deref(),
        Some("https://app.example.com")
    );
}
