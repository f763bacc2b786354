//! The admin dashboard over HTTP: first run, pages, forms, "Try" and what it shows. The
//! security properties (CSRF, sessions, roles, throttling, headers) are in
//! `dashboard_security/`; the browser journey in `browser/`.
//!
//! One module per part of the dashboard; what they and the other dashboard tests share (a
//! dashboard browser, admins, connections with a secret, a Try) is here.

mod applications;
mod connection_try;
mod first_run;
mod tenant_settings;
mod users_and_logs;

use fake_exact::{FakeApp, FakeExactHandle};
use gatehouse::services::{self, Actor};
use secrecy::SecretString;
use serde_json::json;

use crate::helpers::*;

pub const PASSWORD: &str = "correct horse battery staple";

/// A browser of the dashboard: its own cookie jar, redirects not followed.
pub struct Dash {
    pub http: reqwest::Client,
    pub origin: String,
}

impl Dash {
    pub fn new(app: &TestApp) -> Self {
        Dash {
            http: browser(),
            origin: app.admin_url(""),
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.origin))
            .send()
            .await
            .unwrap()
    }

    pub async fn page(&self, path: &str) -> String {
        let res = self.get(path).await;
        assert_eq!(res.status(), 200, "GET {path}");
        res.text().await.unwrap()
    }

    /// The CSRF token in the forms of `path`.
    pub async fn csrf(&self, path: &str) -> String {
        csrf_in(&self.page(path).await)
    }

    /// A form post from a dashboard page (with the right `Origin`).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.origin))
            .header("Origin", &self.origin)
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// Posts `fields` plus the CSRF token of the page at `from`.
    pub async fn submit(
        &self,
        from: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let csrf = self.csrf(from).await;
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        let csrf = self.csrf("/signin").await;
        self.post(
            "/signin",
            &[
                ("csrf", &csrf),
                ("email", email),
                ("password", password),
                ("next", ""),
            ],
        )
        .await
    }
}

/// The link the "Try" interstitial follows, unescaped.
pub fn auto_follow_link(html: &str) -> String {
    let marker = "data-auto-follow href=\"";
    let start = html.find(marker).expect("the Try interstitial") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end]
        .replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#43;", "+")
        .replace("&#61;", "=")
}

/// The value of the first `name="csrf"` field of a page.
pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a form with a CSRF token") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

pub async fn create_admin(app: &TestApp, email: &str, operator: bool) {
    services::admins::create(
        &app.pool,
        email,
        &SecretString::from(PASSWORD.to_owned()),
        operator,
    )
    .await
    .expect("create admin");
}

/// An operator signed in through the dashboard.
pub async fn operator(app: &TestApp) -> Dash {
    create_admin(app, "ops@example.com", true).await;
    let dash = Dash::new(app);
    let res = dash.sign_in("ops@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303, "sign-in");
    dash
}

/// A tenant admin of `tenant` (with `role`) signed in.
pub async fn member(app: &TestApp, tenant: &TestTenant, email: &str, role: &str) -> Dash {
    services::admins::invite(
        &app.pool,
        tenant.tenant_id,
        email,
        role,
        Some(&SecretString::from(PASSWORD.to_owned())),
        &Actor::named("test"),
    )
    .await
    .expect("invite");
    let dash = Dash::new(app);
    let res = dash.sign_in(email, PASSWORD).await;
    assert_eq!(res.status(), 303, "sign-in of {email}");
    dash
}

/// An Exact connection with a known secret, registered at the fake; returns its id.
pub async fn connection_with_secret(
    app: &TestApp,
    tenant: &TestTenant,
    fake: &FakeExactHandle,
    secret: &str,
) -> String {
    fake.add_app(FakeApp {
        client_id: "exact-app".into(),
        client_secret: secret.into(),
        redirect_uris: vec![],
    });
    let input = services::connections::ConnectionInput {
        name: Some("exact".into()),
        strategy: Some("exact".into()),
        options: Some(
            json!({ "client_id": "exact-app", "client_secret": secret, "baseUrl": fake.base_url() }),
        ),
        ..Default::default()
    };
    services::connections::create(
        &app.pool,
        &app.state.sealer,
        tenant.tenant_id,
        &input,
        &Actor::named("test"),
    )
    .await
    .expect("create connection")
    .connection
    .connection_id
}

/// Presses "Try" and follows the browser through /authorize, the fake Exact and the tenant's
/// callback to `/tester/callback`; returns that last answer.
pub async fn try_login(
    app: &TestApp,
    dash: &Dash,
    tenant: &TestTenant,
    connection_id: &str,
) -> reqwest::Response {
    let page = format!("/tenants/{}/connections/{connection_id}", tenant.slug);
    let res = dash.submit(&page, &format!("{page}/try"), &[]).await;
    assert_eq!(res.status(), 200, "try");
    let mut next = auto_follow_link(&res.text().await.unwrap());
    assert!(
        next.starts_with(&format!("{}authorize?", tenant.issuer)),
        "{next}"
    );
    for _ in 0..5 {
        let res = dash.http.get(&next).send().await.unwrap();
        if next.starts_with(&app.admin_url("/tester/callback")) {
            return res;
        }
        assert!(res.status().is_redirection(), "{next}: {}", res.status());
        next = location(&res);
    }
    panic!("the Try never came back to the dashboard");
}
