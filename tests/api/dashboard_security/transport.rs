//! Over HTTPS, `__Host-` secure cookies and HSTS; on every page, the security headers.

use std::net::TcpListener;

use gatehouse::config::PublicScheme;
use gatehouse::crypto::seal::{MasterKey, Sealer};
use gatehouse::startup::Application;
use gatehouse::state::AppState;
use secrecy::SecretString;

use super::*;
use crate::dashboard::*;
use crate::helpers::*;

#[tokio::test]
async fn dashboard_over_https_uses_host_prefixed_secure_cookies_and_hsts() {
    let database_url = fresh_database().await;
    let master_key = MasterKey::generate_text();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut settings = test_settings(port, &database_url, &master_key);
    settings.public_scheme = PublicScheme::Https;
    let pool = gatehouse::db::connect(&SecretString::from(database_url), 5)
        .await
        .unwrap();
    let sealer = Sealer::new(
        MasterKey::parse(&SecretString::from(master_key)).unwrap(),
        vec![],
    );
    let state = AppState::new(settings, pool.clone(), sealer);
    let server = Application::build(state, listener).unwrap();
    tokio::spawn(server.run_until_stopped());
    gatehouse::services::admins::create(
        &pool,
        "ops@example.com",
        &SecretString::from(PASSWORD.to_owned()),
        true,
    )
    .await
    .unwrap();

    let http = browser();
    let url = format!("http://localhost:{port}/signin");
    let res = http.get(&url).send().await.unwrap();
    assert!(res.headers().get("strict-transport-security").is_some());
    let pre = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with("__Host-gatehouse-csrf="))
        .expect("prefixed pre-session cookie");
    assert!(pre.contains("Secure") && pre.contains("Path=/") && !pre.contains("Domain"));
    let csrf = csrf_in(&res.text().await.unwrap());
    let res = http
        .post(&url)
        .header("Origin", format!("https://localhost:{port}"))
        .header("Cookie", format!("__Host-gatehouse-csrf={csrf}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "ops@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let cookie = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with("__Host-gatehouse-admin="))
        .expect("prefixed session cookie");
    assert!(
        cookie.contains("Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && cookie.contains("Path=/")
    );
    assert!(!cookie.contains("Domain="));
}

#[tokio::test]
async fn dashboard_pages_send_security_headers() {
    let app = spawn_app().await;
    let dash = operator(&app).await;
    for path in ["/signin", "/tenants", "/tenants/new"] {
        let res = Dash::get(&dash, path).await;
        let h = res.headers();
        let csp = h
            .get("content-security-policy")
            .expect("CSP")
            .to_str()
            .unwrap();
        for part in [
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "script-src 'self'",
        ] {
            assert!(csp.contains(part), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
        assert_eq!(h.get("referrer-policy").unwrap(), "same-origin", "{path}");
        assert_eq!(h.get("cache-control").unwrap(), "no-store");
        assert!(
            h.get("strict-transport-security").is_none(),
            "no HSTS on http"
        );
        let body = res.text().await.unwrap();
        assert!(
            !body.contains("<script>") && !body.contains("style=\""),
            "{path}: no inline script or style"
        );
    }
}
