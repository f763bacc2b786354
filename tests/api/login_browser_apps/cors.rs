//! Cross-origin reads from a browser application's web origins only, per application, and web
//! origins that must be origins.

use gatehouse::services::{self, Actor};
use reqwest::Method;
use serde_json::Value;

use super::*;
use crate::helpers::*;
use crate::login::*;

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
    // An error the page must be able to read (a code that is not one) carries them too.
    let res = redeem_from(&s, "no-such-code", Some(SPA_ORIGIN)).await;
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
