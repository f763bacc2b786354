//! SECURITY.md, /authorize: untrusted clients and redirect URIs get a page, never a redirect;
//! bad requests from trusted ones go back as OAuth errors with `state` and `iss`.

use crate::helpers::*;
use crate::login::*;

#[tokio::test]
async fn unknown_or_missing_client_id_gets_an_error_page_not_a_redirect() {
    let s = login_setup().await;
    for client_id in ["", "not-a-client", "'; drop table clients; --"] {
        let res = s
            .app
            .http
            .get(s.app.tenant_url(&s.tenant, "/authorize"))
            .query(&[
                ("response_type", "code"),
                ("client_id", client_id),
                ("redirect_uri", &s.web.callback),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{client_id}");
        assert!(res.headers().get("location").is_none());
        assert!(res.text().await.unwrap().contains("application"));
    }
}

#[tokio::test]
async fn redirect_uris_that_are_not_exactly_registered_get_an_error_page() {
    let s = login_setup().await;
    let cb = s.web.callback.clone();
    let upper = cb.replace("https://app.example.com", "HTTPS://APP.EXAMPLE.COM");
    let variants = vec![
        format!("{cb}?x=1"),
        format!("{cb}/"),
        upper,
        cb.replace("/callback", "/../callback"),
        cb.replace("/callback", "/%2e%2e/callback"),
        cb.replace("/callback", "/%252e%252e/callback"),
        "javascript:alert(1)".to_owned(),
        "data:text/html,<script>alert(1)</script>".to_owned(),
        "file:///etc/passwd".to_owned(),
        "https://evil.example.com/callback".to_owned(),
        cb.replace("https://", "http://"),
    ];
    for uri in variants {
        let res = authorize(&s, &s.web, &[("redirect_uri", &uri)]).await;
        assert_eq!(res.status(), 400, "{uri}");
        assert!(
            res.headers().get("location").is_none(),
            "{uri} must not redirect"
        );
    }
}

#[tokio::test]
async fn a_missing_redirect_uri_is_refused_when_several_are_registered_and_used_when_one_is() {
    let s = login_setup().await;
    // One callback registered: it is used.
    let res = authorize(&s, &s.web, &[("redirect_uri", "")]).await;
    assert_eq!(res.status(), 302);
    // Several: refused with a page.
    s.app
        .execute_config_sql(&format!(
            "UPDATE clients SET callbacks = callbacks || '{{https://app.example.com/other}}'::text[] WHERE client_id = '{}'",
            s.web.client_id
        ))
        .await;
    let res = authorize(&s, &s.web, &[("redirect_uri", "")]).await;
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
}

async fn expect_error_redirect(
    s: &LoginSetup,
    client: &TestClient,
    extra: &[(&str, &str)],
    error: &str,
) {
    let res = authorize(s, client, extra).await;
    assert_eq!(res.status(), 302, "{extra:?}");
    let (location, params) = location_params(&res);
    assert!(
        location.starts_with(&client.callback),
        "{extra:?}: {location}"
    );
    assert_eq!(params["error"], error, "{extra:?}");
    assert!(params.contains_key("error_description"));
    assert_eq!(params["state"], "app-state-123");
    assert_eq!(params["iss"], s.tenant.issuer);
}

#[tokio::test]
async fn bad_requests_from_trusted_clients_are_redirected_as_oauth_errors_with_state_and_iss() {
    let s = login_setup().await;
    expect_error_redirect(
        &s,
        &s.web,
        &[("response_type", "token")],
        "unsupported_response_type",
    )
    .await;
    expect_error_redirect(&s, &s.web, &[("response_type", "")], "invalid_request").await;
    expect_error_redirect(&s, &s.web, &[("scope", "openid admin")], "invalid_scope").await;
    expect_error_redirect(&s, &s.web, &[("scope", "profile")], "invalid_scope").await;
    expect_error_redirect(
        &s,
        &s.web,
        &[("connection", "no-such-connection")],
        "invalid_request",
    )
    .await;
    expect_error_redirect(&s, &s.web, &[("prompt", "none")], "login_required").await;
    // No login was started for any of them.
    assert!(s.fake.authorize_requests().is_empty());
}

#[tokio::test]
async fn a_connection_not_enabled_for_the_client_is_refused() {
    let s = login_setup().await;
    let other = s.app.create_client(&s.tenant, "regular_web").await;
    expect_error_redirect(&s, &other, &[], "invalid_request").await;
}

#[tokio::test]
async fn plain_pkce_is_refused_and_public_clients_must_use_s256() {
    let s = login_setup().await;
    expect_error_redirect(
        &s,
        &s.web,
        &[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "plain"),
        ],
        "invalid_request",
    )
    .await;
    expect_error_redirect(
        &s,
        &s.web,
        &[("code_challenge", CHALLENGE)],
        "invalid_request",
    )
    .await;
    expect_error_redirect(
        &s,
        &s.web,
        &[
            ("code_challenge", "short"),
            ("code_challenge_method", "S256"),
        ],
        "invalid_request",
    )
    .await;
    expect_error_redirect(&s, &s.spa, &[], "invalid_request").await;
    let ok = authorize(
        &s,
        &s.spa,
        &[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    assert_eq!(ok.status(), 302);
    assert!(ok.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with(&s.fake.base_url()));
}

#[tokio::test]
async fn repeated_parameters_are_refused() {
    let s = login_setup().await;
    let url = format!(
        "{}?client_id={}&client_id=x&response_type=code",
        s.app.tenant_url(&s.tenant, "/authorize"),
        s.web.client_id
    );
    let res = s.app.http.get(url).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
}

#[tokio::test]
async fn login_pages_send_no_referrer_no_store_no_cors_and_load_nothing_from_third_parties() {
    let s = login_setup().await;
    let chooser = authorize(&s, &s.web, &[("connection", "")]).await;
    let error_page = authorize(&s, &s.web, &[("redirect_uri", "https://evil.example.com/")]).await;
    let redirect = authorize(&s, &s.web, &[]).await;
    for res in [chooser, error_page, redirect] {
        let h = res.headers().clone();
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["cache-control"], "no-store");
        assert!(h.get("access-control-allow-origin").is_none());
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
        let body = res.text().await.unwrap();
        assert!(
            !body.contains("src=\"http")
                && !body.contains("href=\"http://")
                && !body.contains("@import"),
            "no third-party resources"
        );
    }
}

#[tokio::test]
async fn without_a_connection_the_chooser_lists_the_clients_connections_as_buttons() {
    let s = login_setup().await;
    let res = authorize(&s, &s.web, &[("connection", "")]).await;
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(body.contains("Continue with Exact Online"), "{body}");
    assert!(body.contains("connection=exact"));
    assert!(body.contains("/static/gatehouse.css"));
}

#[tokio::test]
async fn response_mode_form_post_answers_with_a_self_submitting_form() {
    let s = login_setup().await;
    let res = login(&s, &s.web, &[("response_mode", "form_post")]).await;
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("form-action https://app.example.com"), "{csp}");
    let body = res.text().await.unwrap();
    assert!(body.contains(&format!("action=\"{}\"", s.web.callback)));
    assert!(body.contains("name=\"code\"") && body.contains("name=\"iss\""));
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_log_names_the_forwarded_client() {
    let app = spawn_app_with(&[("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1, ::1")]).await;
    let tenant = app.create_tenant("acme").await;
    let web = app.create_client(&tenant, "regular_web").await;
    let fake = start_fake_exact().await;
    app.create_exact_connection(&tenant, "exact", &fake, &[&web])
        .await;
    let res = app
        .http
        .get(app.tenant_url(&tenant, "/authorize"))
        .header("x-forwarded-for", "198.51.100.1, 203.0.113.7")
        .header("user-agent", "Mozilla/5.0 (an\todd browser)")
        .query(&[
            ("response_type", "code"),
            ("client_id", web.client_id.as_str()),
            ("redirect_uri", web.callback.as_str()),
            ("scope", "openid"),
            ("connection", "exact"),
            ("prompt", "none"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location_params(&res).1["error"], "login_required");
    let (ip, user_agent): (Option<String>, Option<String>) = sqlx::query_as(
        "SELECT ip, user_agent FROM events WHERE tenant_id = $1 AND type = 'login_failure'",
    )
    .bind(tenant.tenant_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    // The proxy's own hop and what the client wrote before it are not the client.
    assert_eq!(ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(
        user_agent.as_deref(),
        Some("Mozilla/5.0 (an odd browser)"),
        "control characters become spaces"
    );
    fake.stop().await;
}
