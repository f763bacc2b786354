//! SECURITY.md, "Upstream OpenID Connect and OAuth2 providers": each defect of the upstream's
//! ID token is a failed login naming it, with no user written; a mix-up is caught before the
//! code is sent on; a forbidden upstream address is never connected to.

use std::time::Duration;

use fake_exact::oidc::{IdTokenDefect, OidcMode};
use serde_json::json;

use super::*;

/// Logs in with `defect`; the application gets an error and the trace names the step.
async fn refused(s: &OidcSetup, defect: IdTokenDefect) -> (String, String) {
    s.idp.set_defect(defect);
    let params = login_through(&s.app, &s.tenant, &s.web, "idp").await;
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("server_error"),
        "{defect:?}: {params:?}"
    );
    let trace = last_failure(&s.app).await;
    (
        trace["failed_step"].as_str().unwrap_or_default().to_owned(),
        trace["description"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| trace.to_string()),
    )
}

#[tokio::test]
async fn every_id_token_defect_fails_the_login_with_a_trace_naming_it() {
    let s = oidc_setup().await;
    for (defect, named) in [
        (IdTokenDefect::WrongIssuer, "issuer"),
        (IdTokenDefect::WrongAudience, "aud"),
        (IdTokenDefect::WrongNonce, "nonce"),
        (IdTokenDefect::NoNonce, "nonce"),
        (IdTokenDefect::Expired, "expired"),
        (IdTokenDefect::IssuedInTheFuture, "iat"),
        (IdTokenDefect::BadSignature, "signature"),
        (IdTokenDefect::AlgNone, "alg none"),
        (IdTokenDefect::Hs256WithPublicKey, "HS256 is not allowed"),
        (
            IdTokenDefect::AlgMismatch,
            "does not match the type of the key",
        ),
        (IdTokenDefect::UnknownKid, "not in the provider's key set"),
        (IdTokenDefect::SeveralAudiencesNoAzp, "azp"),
    ] {
        let (step, description) = refused(&s, defect).await;
        assert_eq!(step, "id_token_validation", "{defect:?}");
        assert!(description.contains(named), "{defect:?}: {description}");
    }
    assert_eq!(users(&s.app).await, 0, "no defective login wrote a user");
}

#[tokio::test]
async fn a_callback_naming_another_issuer_is_a_mix_up_and_the_code_goes_nowhere() {
    let s = oidc_setup().await;
    s.idp.set_callback_iss(Some("https://evil.example".into()));
    let params = login_through(&s.app, &s.tenant, &s.web, "idp").await;
    assert_eq!(params["error"], "server_error");
    let trace = last_failure(&s.app).await;
    assert_eq!(trace["failed_step"], "callback");
    assert!(
        s.idp.token_requests().is_empty(),
        "the code was not sent to the token endpoint"
    );
    // A provider that says it always names itself and does not: refused too.
    s.idp.set_callback_iss(None);
    assert_eq!(
        login_through(&s.app, &s.tenant, &s.web, "idp").await["error"],
        "server_error"
    );
    assert!(last_failure(&s.app).await["description"]
        .as_str()
        .unwrap()
        .contains("no iss"));
    assert!(s.idp.token_requests().is_empty());

    // Providers that neither send iss nor say they do are fine.
    let quiet = oidc_setup().await;
    quiet.idp.set_advertise_iss(false);
    quiet.idp.set_callback_iss(None);
    assert!(login_through(&quiet.app, &quiet.tenant, &quiet.web, "idp")
        .await
        .contains_key("code"));
}

#[tokio::test]
async fn a_provider_that_is_down_slow_or_garbled_ends_the_login_with_an_error_and_a_trace() {
    let s = oidc_setup().await;
    s.idp.set_mode(OidcMode::DiscoveryDown);
    let (params, trace) = refused_at_authorize(&s.app, &s.tenant, &s.web, "idp").await;
    assert_eq!(params["error"], "server_error");
    assert_eq!(trace["failed_step"], "discovery");

    s.idp.set_mode(OidcMode::GarbageToken);
    let params = login_through(&s.app, &s.tenant, &s.web, "idp").await;
    assert_eq!(params["error"], "server_error");
    assert_eq!(
        last_failure(&s.app).await["failed_step"],
        "upstream_token_exchange"
    );
    assert_eq!(users(&s.app).await, 0);
}

#[tokio::test]
async fn redirects_are_not_followed_and_oversized_answers_are_not_read() {
    let s = oidc_setup().await;
    s.idp.set_mode(OidcMode::DiscoveryRedirect);
    let (params, trace) = refused_at_authorize(&s.app, &s.tenant, &s.web, "idp").await;
    assert_eq!(params["error"], "server_error");
    assert_eq!(trace["failed_step"], "discovery");
    assert_eq!(
        trace["upstream"]["status"], 302,
        "the redirect was not followed: {trace}"
    );

    s.idp.set_mode(OidcMode::HugeKeys);
    let params = login_through(&s.app, &s.tenant, &s.web, "idp").await;
    assert_eq!(params["error"], "server_error");
    let trace = last_failure(&s.app).await;
    assert_eq!(trace["failed_step"], "discovery");
    assert!(
        trace["description"].as_str().unwrap().contains("exceeded"),
        "{trace}"
    );
    assert_eq!(users(&s.app).await, 0);
}

#[tokio::test]
async fn a_discovery_document_must_name_the_issuer_it_was_read_from() {
    let s = oidc_setup().await;
    s.idp.set_mode(OidcMode::ForeignIssuer);
    let (params, trace) = refused_at_authorize(&s.app, &s.tenant, &s.web, "idp").await;
    assert_eq!(params["error"], "server_error");
    assert_eq!(trace["failed_step"], "discovery");
    assert!(
        trace["description"]
            .as_str()
            .unwrap()
            .contains("where it was read"),
        "{trace}"
    );
}

#[tokio::test]
async fn a_slow_provider_is_cut_off_by_the_upstream_timeout() {
    let app = spawn_app_with(&[("GATEHOUSE_UPSTREAM_TIMEOUT_MS", "300")]).await;
    let tenant = app.create_tenant("acme").await;
    let web = app.create_client(&tenant, "regular_web").await;
    let idp = fake_exact::oidc::FakeOidc::start(fake_exact::oidc::OidcClient {
        client_id: "c".into(),
        client_secret: "s".into(),
    })
    .await;
    connect(
        &app,
        &tenant,
        &web,
        "oidc",
        "idp",
        json!({"client_id": "c", "client_secret": "s", "discovery_url": idp.discovery_url()}),
    )
    .await;
    idp.set_mode(OidcMode::Slow(Duration::from_millis(1500)));
    let (params, _) = refused_at_authorize(&app, &tenant, &web, "idp").await;
    assert_eq!(params["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn upstream_urls_at_metadata_or_forbidden_addresses_are_never_connected_to() {
    // Saved: the URL is well-formed https; refused where it is connected to.
    let app = spawn_app_with(&[("GATEHOUSE_UPSTREAM_FORBID", "loopback")]).await;
    let tenant = app.create_tenant("acme").await;
    let web = app.create_client(&tenant, "regular_web").await;
    let idp = fake_exact::oidc::FakeOidc::start(fake_exact::oidc::OidcClient {
        client_id: "c".into(),
        client_secret: "s".into(),
    })
    .await;
    connect(
        &app,
        &tenant,
        &web,
        "oidc",
        "metadata",
        json!({"client_id": "c", "client_secret": "s",
        "discovery_url": "https://169.254.169.254/.well-known/openid-configuration"}),
    )
    .await;
    // A name that resolves to a forbidden address: checked on what it resolves to.
    connect(
        &app,
        &tenant,
        &web,
        "oidc",
        "named",
        json!({"client_id": "c", "client_secret": "s",
        "discovery_url": idp.discovery_url().replace("127.0.0.1", "localhost")}),
    )
    .await;
    for connection in ["metadata", "named"] {
        let (params, trace) = refused_at_authorize(&app, &tenant, &web, connection).await;
        assert_eq!(params["error"], "server_error", "{connection}");
        assert_eq!(trace["failed_step"], "discovery", "{connection}");
        assert!(
            trace["description"]
                .as_str()
                .unwrap()
                .contains("not allowed"),
            "{trace}"
        );
    }
    assert_eq!(
        idp.discovery_hits(),
        0,
        "nothing reached the forbidden address"
    );
}

#[tokio::test]
async fn the_health_of_an_oidc_connection_names_the_failing_step_and_hints_at_the_fix() {
    let s = oidc_setup().await;
    login_through(&s.app, &s.tenant, &s.web, "idp").await;
    s.idp.set_defect(IdTokenDefect::WrongAudience);
    login_through(&s.app, &s.tenant, &s.web, "idp").await;
    let id: String = sqlx::query_scalar("SELECT connection_id FROM connections WHERE name = 'idp'")
        .fetch_one(&s.app.pool)
        .await
        .unwrap();
    let token = s
        .app
        .management_token(&s.tenant, &["read:connections"])
        .await;
    let status: serde_json::Value = s
        .app
        .http
        .get(
            s.app
                .tenant_url(&s.tenant, &format!("/api/v2/connections/{id}/status")),
        )
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let health = &status["health"];
    assert_eq!(status["strategy"], "oidc");
    assert_eq!(
        (
            health["last_hour"]["succeeded"].as_i64(),
            health["last_hour"]["failed"].as_i64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(health["last_failure"]["step"], "id_token_validation");
    let hints = health["hints"].to_string();
    assert!(
        hints.contains("ID token was refused") && hints.contains("aud"),
        "{hints}"
    );
}
