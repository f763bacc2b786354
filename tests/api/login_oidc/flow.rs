//! A login through an OpenID Connect upstream: the application gets tokens an independent
//! library verifies, `/userinfo` and refresh work, and Gatehouse spoke to the upstream as a
//! careful client (nonce, PKCE, the advertised client authentication, cached discovery, keys
//! read again after a rotation).

use std::collections::HashMap;

use base64::Engine;
use fake_exact::oidc::OidcUser;
use jsonwebtoken::{decode, Algorithm, Validation};
use serde_json::{json, Value};

use super::*;

#[tokio::test]
async fn an_oidc_login_gives_verifiable_tokens_userinfo_and_refresh() {
    let s = oidc_setup().await;
    let params = login_through(&s.app, &s.tenant, &s.web, "idp").await;
    assert_eq!(params["state"], "app-state");
    let body = redeem(&s.app, &s.tenant, &s.web, &params["code"]).await;

    // Our ID token, checked with jsonwebtoken against the tenant's published keys.
    let id_token = body["id_token"].as_str().unwrap();
    let key = s.app.signing_key_of(&s.tenant, id_token).await;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&s.web.client_id]);
    validation.set_issuer(&[&s.tenant.issuer]);
    let claims = decode::<HashMap<String, Value>>(id_token, &key, &validation)
        .unwrap()
        .claims;
    let ada = OidcUser::ada();
    assert_eq!(claims["sub"], format!("oidc|idp|{}", ada.sub));
    assert_eq!(claims["nonce"], "app-nonce");
    assert_eq!(claims["email"], ada.email);
    assert_eq!(
        claims["email_verified"], true,
        "passed through because the upstream said so"
    );
    assert_eq!(claims["name"], ada.name);

    let info: Value = s
        .app
        .http
        .get(s.app.tenant_url(&s.tenant, "/userinfo"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], format!("oidc|idp|{}", ada.sub));

    let refreshed = s
        .app
        .http
        .post(s.app.tenant_url(&s.tenant, "/oauth/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
            ("client_id", s.web.client_id.as_str()),
            ("client_secret", s.web.client_secret.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);

    // The identity records the upstream, and the upstream's tokens never leave sealed.
    let identity: (String, String, Value) = sqlx::query_as(
        "SELECT provider, provider_user_id, profile_data FROM identities WHERE user_id = $1",
    )
    .bind(format!("oidc|idp|{}", ada.sub))
    .fetch_one(&s.app.pool)
    .await
    .unwrap();
    assert_eq!(
        (identity.0.as_str(), identity.1.as_str()),
        ("oidc", ada.sub.as_str())
    );
    assert!(identity.2.get("nonce").is_none() && identity.2.get("iss").is_none());
}

#[tokio::test]
async fn gatehouse_sends_a_nonce_and_pkce_and_authenticates_as_discovery_advertises() {
    let s = oidc_setup().await;
    login_through(&s.app, &s.tenant, &s.web, "idp").await;
    let authorize = &s.idp.authorize_requests()[0];
    assert_eq!(authorize["code_challenge_method"], "S256");
    assert!(authorize["nonce"].len() >= 32, "a fresh nonce per login");
    assert_ne!(
        authorize["nonce"], "app-nonce",
        "not the application's nonce"
    );
    assert_eq!(authorize["scope"], "openid profile email");
    let (auth_header, form) = &s.idp.token_requests()[0];
    let basic = auth_header
        .as_deref()
        .and_then(|h| h.strip_prefix("Basic "))
        .expect("client_secret_basic");
    let decoded = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(basic)
            .unwrap(),
    )
    .unwrap();
    assert!(decoded.starts_with("gatehouse-at-idp:"));
    assert!(form.get("client_secret").is_none());
    assert!(form["code_verifier"].len() >= 43);

    // Discovery and keys are read once, then served from the connection's cache.
    login_through(&s.app, &s.tenant, &s.web, "idp").await;
    assert_eq!((s.idp.discovery_hits(), s.idp.jwks_hits()), (1, 1));
}

#[tokio::test]
async fn configured_client_secret_post_and_disabled_pkce_are_honoured() {
    let s = oidc_setup_with(json!({
        "token_endpoint_auth_method": "client_secret_post",
        "connection_settings": {"pkce": "disabled"},
        "scope": "email",
        "fetch_userinfo": true,
    }))
    .await;
    let params = login_through(&s.app, &s.tenant, &s.web, "idp").await;
    assert!(params.contains_key("code"), "{params:?}");
    let authorize = &s.idp.authorize_requests()[0];
    assert!(authorize.get("code_challenge").is_none());
    assert_eq!(authorize["scope"], "openid email");
    let (auth_header, form) = &s.idp.token_requests()[0];
    assert!(auth_header.is_none());
    assert_eq!(form["client_secret"], "idp-secret-Zq8!");
    // userinfo's claims were merged in.
    let locale: Option<String> = sqlx::query_scalar("SELECT locale FROM users")
        .fetch_one(&s.app.pool)
        .await
        .unwrap();
    assert_eq!(locale.as_deref(), Some("en-GB"));
}

#[tokio::test]
async fn a_key_rotation_upstream_is_followed_by_reading_the_keys_again() {
    let s = oidc_setup().await;
    login_through(&s.app, &s.tenant, &s.web, "idp").await;
    s.idp.rotate_keys();
    let params = login_through(&s.app, &s.tenant, &s.web, "idp").await;
    assert!(params.contains_key("code"), "{params:?}");
    assert_eq!(s.idp.jwks_hits(), 2, "one fetch for the unknown kid");
}

#[tokio::test]
async fn an_unverified_email_stays_unverified() {
    let s = oidc_setup().await;
    s.idp.set_user(OidcUser {
        email_verified: false,
        ..OidcUser::ada()
    });
    login_through(&s.app, &s.tenant, &s.web, "idp").await;
    let verified: bool = sqlx::query_scalar("SELECT email_verified FROM users")
        .fetch_one(&s.app.pool)
        .await
        .unwrap();
    assert!(!verified);
}

#[tokio::test]
async fn forged_kids_make_gatehouse_read_the_keys_again_at_most_once_in_a_while() {
    let s = oidc_setup().await;
    login_through(&s.app, &s.tenant, &s.web, "idp").await;
    s.idp
        .set_defect(fake_exact::oidc::IdTokenDefect::UnknownKid);
    for _ in 0..3 {
        let params = login_through(&s.app, &s.tenant, &s.web, "idp").await;
        assert_eq!(params["error"], "server_error");
    }
    assert_eq!(
        s.idp.jwks_hits(),
        2,
        "one refetch for three unknown kids in a row"
    );
}
