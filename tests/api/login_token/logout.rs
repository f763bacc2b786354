//! Logout: back only to an allowed logout URL, and OIDC RP-initiated logout returning with
//! `state` to the ID token's application.

use serde_json::Value;

use super::*;
use crate::login::*;

#[tokio::test]
async fn logout_returns_only_to_an_allowed_logout_url() {
    let s = login_setup().await;
    let url = s.app.tenant_url(&s.tenant, "/v2/logout");
    let ok = s
        .app
        .http
        .get(&url)
        .query(&[
            ("client_id", s.web.client_id.as_str()),
            ("returnTo", "https://app.example.com/logged-out"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 302);
    assert_eq!(
        ok.headers()["location"],
        "https://app.example.com/logged-out"
    );
    for return_to in [
        "https://evil.example.com/",
        "https://app.example.com/logged-out/",
    ] {
        let res = s
            .app
            .http
            .get(&url)
            .query(&[
                ("client_id", s.web.client_id.as_str()),
                ("returnTo", return_to),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{return_to}");
    }
    let plain = s.app.http.get(&url).send().await.unwrap();
    assert_eq!(plain.status(), 200);
}

#[tokio::test]
async fn oidc_rp_initiated_logout_returns_with_state_to_the_id_tokens_application() {
    let s = login_setup().await;
    let discovery = s.app.discovery(&s.tenant).await;
    let end_session = discovery["end_session_endpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(end_session, format!("{}oidc/logout", s.tenant.issuer));
    let code = fresh_code(&s).await;
    let tokens: Value = redeem(&s, &web_form(&s, &code)).await.json().await.unwrap();
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let logout = |query: Vec<(&'static str, String)>| {
        let req = s.app.http.get(&end_session).query(&query);
        async move { req.send().await.unwrap() }
    };
    let back = "https://app.example.com/logged-out".to_owned();

    // What an OIDC library sends: the ID token as the hint, the return URL, a state.
    let res = logout(vec![
        ("id_token_hint", id_token.clone()),
        ("post_logout_redirect_uri", back.clone()),
        ("state", "bye 1".into()),
    ])
    .await;
    assert_eq!(res.status(), 302);
    assert_eq!(
        res.headers()["location"],
        "https://app.example.com/logged-out?state=bye+1"
    );
    assert!(res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));

    // A hint this tenant did not issue, or of another application, names nobody.
    let mut forged = id_token.clone();
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    let other_tenant = s.app.create_tenant("elsewhere").await;
    let other_client = s.app.create_client(&other_tenant, "regular_web").await;
    let access_token = s.app.management_token(&s.tenant, &["read:users"]).await;
    for (query, why) in [
        (
            vec![
                ("id_token_hint", forged),
                ("post_logout_redirect_uri", back.clone()),
            ],
            "a forged signature",
        ),
        (
            vec![
                ("id_token_hint", access_token),
                ("post_logout_redirect_uri", back.clone()),
            ],
            "an access token",
        ),
        (
            vec![
                ("id_token_hint", id_token.clone()),
                ("client_id", s.spa.client_id.clone()),
                ("post_logout_redirect_uri", back.clone()),
            ],
            "another application's client_id",
        ),
        (
            vec![
                ("id_token_hint", id_token.clone()),
                (
                    "post_logout_redirect_uri",
                    "https://evil.example.com/".into(),
                ),
            ],
            "a return URL not allowed",
        ),
        (
            vec![("post_logout_redirect_uri", back.clone())],
            "no application named",
        ),
        (
            vec![
                ("client_id", other_client.client_id.clone()),
                ("post_logout_redirect_uri", back.clone()),
            ],
            "another tenant's application",
        ),
        (
            vec![
                ("client_id", s.web.client_id.clone()),
                ("post_logout_redirect_uri", back.clone()),
                ("returnTo", "https://app.example.com/other".into()),
            ],
            "two different return URLs",
        ),
    ] {
        let res = logout(query).await;
        assert_eq!(res.status(), 400, "{why}");
        assert!(res.headers().get("location").is_none(), "{why}");
    }

    // Auth0's spelling works at the OIDC path too (and the OIDC one at /v2/logout).
    let res = logout(vec![
        ("client_id", s.web.client_id.clone()),
        ("returnTo", back.clone()),
    ])
    .await;
    assert_eq!(res.headers()["location"], back.as_str());
    let res = s
        .app
        .http
        .get(s.app.tenant_url(&s.tenant, "/v2/logout"))
        .query(&[
            ("id_token_hint", id_token.as_str()),
            ("post_logout_redirect_uri", &back),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], back.as_str());
}
