//! Health, readiness and the icon on any host; tenant hosts resolved by slug and custom domain,
//! unknown hosts a 404.

use gatehouse::services::{self, Actor};
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn health_and_readiness_answer_on_any_host() {
    let app = spawn_app().await;
    for url in [
        app.admin_url("/healthz"),
        app.admin_url("/readyz"),
        format!("http://127.0.0.1:{}/readyz", app.port),
    ] {
        let res = app.http.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200, "{url}");
    }
}

#[tokio::test]
async fn the_icon_is_served_on_every_host_and_linked_from_every_page() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    for url in [
        app.admin_url("/favicon.ico"),
        format!("http://acme.localhost:{}/favicon.ico", app.port),
        app.admin_url("/static/favicon.svg"),
    ] {
        let res = app.http.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200, "{url}");
        assert_eq!(res.headers()["content-type"], "image/svg+xml", "{url}");
        assert!(res.text().await.unwrap().starts_with("<svg"), "{url}");
    }
    // A dashboard page and a login page (an unknown host's) both link it.
    for url in [
        app.admin_url("/setup"),
        format!("http://nobody.localhost:{}/authorize", app.port),
    ] {
        let page = app
            .http
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains(r#"<link rel="icon" href="/static/favicon.svg""#),
            "{url}"
        );
    }
}

#[tokio::test]
async fn tenant_hosts_resolve_by_slug_and_custom_domain_and_unknown_hosts_get_404() {
    let app = spawn_app().await;
    let settings = &app.state.settings;
    services::tenants::create(
        &app.pool,
        &app.state.sealer,
        settings,
        "acme",
        Some("Acme"),
        &["login.acme.test".into()],
        &Actor::named("test"),
    )
    .await
    .unwrap();

    let discovery = |host: String| {
        let http = app.http.clone();
        let port = app.port;
        async move {
            http.get(format!(
                "http://{host}:{port}/.well-known/openid-configuration"
            ))
            .send()
            .await
            .unwrap()
        }
    };
    let by_slug = discovery("acme.localhost".into()).await;
    assert_eq!(by_slug.status(), 200);
    let body: Value = by_slug.json().await.unwrap();
    assert_eq!(
        body["issuer"],
        format!("http://acme.localhost:{}/", app.port)
    );

    // A custom domain is matched with its port as the Host header carries it.
    services::tenants::create(
        &app.pool,
        &app.state.sealer,
        settings,
        "beta",
        None,
        &[format!("login.beta.test:{}", app.port)],
        &Actor::named("test"),
    )
    .await
    .unwrap();
    let by_domain = discovery("login.beta.test".into()).await;
    assert_eq!(by_domain.status(), 200);
    assert_eq!(
        by_domain.json::<Value>().await.unwrap()["issuer"],
        format!("http://login.beta.test:{}/", app.port)
    );

    for unknown in ["nobody.localhost", "login.unknown.test", "a.b.localhost"] {
        let res = discovery(unknown.into()).await;
        assert_eq!(res.status(), 404, "{unknown}");
    }
    // The admin host is not a tenant.
    let res = app
        .http
        .get(app.admin_url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}
