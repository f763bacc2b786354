//! An `oauth2` connection (Auth0's custom social shape) against the fake provider used as a
//! plain OAuth 2.0 server: the profile is read from a URL and mapped by JSON pointers, and an
//! answer without the user id is a failed login at the profile step, never an empty user.

use fake_exact::oidc::{FakeOidc, OidcClient, OidcUser};
use serde_json::json;

use super::*;

async fn oauth2_setup(
    user_id_pointer: &str,
) -> (
    TestApp,
    TestTenant,
    TestClient,
    fake_exact::oidc::FakeOidcHandle,
) {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let web = app.create_client(&tenant, "regular_web").await;
    let idp = FakeOidc::start(OidcClient {
        client_id: "social".into(),
        client_secret: "social-secret".into(),
    })
    .await;
    let i = idp.issuer();
    connect(
        &app,
        &tenant,
        &web,
        "oauth2",
        "social",
        json!({"client_id": "social", "client_secret": "social-secret",
            "authorizationURL": format!("{i}/authorize"), "tokenURL": format!("{i}/token"),
            "profile_url": format!("{i}/userinfo"), "scope": "openid profile", "pkce_enabled": true,
            "customHeaders": {"X-Tenant": "acme"},
            "profile_map": {"user_id": user_id_pointer, "email": "/email", "name": "/name", "email_verified": "/email_verified"}}),
    )
    .await;
    (app, tenant, web, idp)
}

#[tokio::test]
async fn an_oauth2_login_reads_the_profile_by_pointers() {
    let (app, tenant, web, idp) = oauth2_setup("/sub").await;
    let params = login_through(&app, &tenant, &web, "social").await;
    let body = redeem(&app, &tenant, &web, &params["code"]).await;
    assert!(body["id_token"].is_string());
    let ada = OidcUser::ada();
    let (user_id, email, name): (String, Option<String>, Option<String>) =
        sqlx::query_as("SELECT user_id, email, name FROM users")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(user_id, format!("oauth2|social|{}", ada.sub));
    assert_eq!(
        (email.as_deref(), name.as_deref()),
        (Some(ada.email.as_str()), Some(ada.name.as_str()))
    );
    assert!(
        idp.authorize_requests()[0].contains_key("code_challenge"),
        "pkce_enabled"
    );
    let (_, form) = &idp.token_requests()[0];
    assert_eq!(
        form["client_secret"], "social-secret",
        "client_secret_post by default"
    );
    // customHeaders go with the token and the profile requests.
    let sent = idp.request_headers();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        sent.iter()
            .all(|(_, h)| h.get("x-tenant").map(String::as_str) == Some("acme")),
        "{sent:?}"
    );

    // What the application gets is the usual: an ID token an independent library verifies,
    // /userinfo, and a refresh token.
    let id_token = body["id_token"].as_str().unwrap();
    let key = app.signing_key_of(&tenant, id_token).await;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[&web.client_id]);
    validation.set_issuer(&[&tenant.issuer]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(id_token, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], format!("oauth2|social|{}", ada.sub));
    let info = app
        .http
        .get(app.tenant_url(&tenant, "/userinfo"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);
    let refreshed = app
        .http
        .post(app.tenant_url(&tenant, "/oauth/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
            ("client_id", web.client_id.as_str()),
            ("client_secret", web.client_secret.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
}

#[tokio::test]
async fn a_profile_without_the_user_id_is_a_failed_login_at_the_profile_step() {
    let (app, tenant, web, _idp) = oauth2_setup("/id").await;
    let params = login_through(&app, &tenant, &web, "social").await;
    assert_eq!(params["error"], "server_error");
    let trace = last_failure(&app).await;
    assert_eq!(trace["failed_step"], "profile_fetch");
    assert!(
        trace["description"].as_str().unwrap().contains("user id"),
        "{trace}"
    );
    assert_eq!(users(&app).await, 0);
}
