//! The admin dashboard over HTTP: first run, pages, forms, "Try" and what it shows. The
//! security properties (CSRF, sessions, roles, throttling, headers) are in
//! `dashboard_security.rs`; the browser journey in `browser/`.

use fake_exact::{FakeApp, FakeExactHandle, FakeUser, TokenMode};
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

#[tokio::test]
async fn dashboard_first_run_creates_an_operator_then_closes() {
    let app = spawn_app().await;
    let dash = Dash::new(&app);
    let res = dash.get("/tenants").await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/signin"));
    let res = dash.get("/signin").await;
    assert_eq!(
        location(&res),
        "/setup",
        "no admin yet: sign-in sends to setup"
    );

    let csrf = dash.csrf("/setup").await;
    let res = dash
        .post(
            "/setup",
            &[
                ("csrf", &csrf),
                ("email", "Ops@Example.com"),
                ("password", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("8 to 1024 characters"));

    let res = dash
        .post(
            "/setup",
            &[
                ("csrf", &csrf),
                ("email", "Ops@Example.com"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/signin");
    let admin = gatehouse::db::admins::by_email(&app.pool, "ops@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(admin.is_operator);
    assert!(admin
        .password_hash
        .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));

    // Afterwards /setup is gone.
    assert_eq!(location(&dash.get("/setup").await), "/signin");
    let res = dash
        .post(
            "/setup",
            &[
                ("csrf", &csrf),
                ("email", "evil@example.com"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(gatehouse::db::admins::count(&app.pool).await.unwrap(), 1);

    let res = dash.sign_in("ops@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/tenants");
    assert!(dash.page("/tenants").await.contains("No tenants yet"));
}

#[tokio::test]
async fn dashboard_sets_up_an_exact_connection_and_try_works() {
    let app = spawn_app().await;
    let fake = start_fake_exact().await;
    let dash = operator(&app).await;

    // Tenant.
    let res = dash
        .submit(
            "/tenants/new",
            "/tenants",
            &[
                ("slug", "acme"),
                ("display_name", "Acme Inc."),
                ("domains", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/tenants/acme");
    let list = dash.page("/tenants").await;
    assert!(
        list.contains("Acme Inc.") && list.contains(&format!("http://acme.{}/", app.base_domain))
    );
    let tenant = TestTenant {
        tenant_id: gatehouse::db::tenants::by_slug(&app.pool, "acme")
            .await
            .unwrap()
            .unwrap()
            .tenant_id,
        slug: "acme".into(),
        host: format!("acme.{}", app.base_domain),
        issuer: format!("http://acme.{}/", app.base_domain),
    };

    // Application: the secret is shown once.
    let res = dash
        .submit(
            "/tenants/acme/applications/new",
            "/tenants/acme/applications",
            &[
                ("name", "Web shop"),
                ("app_type", "regular_web"),
                ("callbacks", "https://shop.example.com/callback"),
                ("logout_urls", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 201);
    let shown = res.text().await.unwrap();
    assert!(shown.contains("Copy the client secret now"));
    let clients = gatehouse::db::clients::page(&app.pool, tenant.tenant_id, 0, 10)
        .await
        .unwrap();
    let client_id = clients[0].client_id.clone();
    let app_page = dash
        .page(&format!("/tenants/acme/applications/{client_id}"))
        .await;
    assert!(app_page.contains(&client_id));
    assert!(
        !app_page.contains("id=\"client-secret\""),
        "the secret is never shown again"
    );

    // Connection, with a validation error first: the typed values survive.
    let form = "/tenants/acme/connections/new";
    let new_page = dash.page(form).await;
    assert!(new_page.contains(&format!("http://acme.{}/login/callback", app.base_domain)));
    assert!(
        new_page.contains("only <strong>https</strong>"),
        "http tenants are told Exact needs https"
    );
    let res = dash
        .submit(
            form,
            "/tenants/acme/connections",
            &[
                ("name", "exact"),
                ("display_name", "Exact Online"),
                ("client_id", "my-exact-app"),
                ("client_secret", "my-exact-secret"),
                ("site", "custom"),
                ("custom_url", "ftp://nope"),
                ("profile", "on"),
                ("set_user_root_attributes", "on_each_login"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("must be an https URL"), "{body}");
    assert!(body.contains("value=\"my-exact-app\""));
    assert!(!body.contains("my-exact-secret"));

    fake.add_app(FakeApp {
        client_id: "my-exact-app".into(),
        client_secret: "my-exact-secret".into(),
        redirect_uris: vec![],
    });
    let res = dash
        .submit(
            form,
            "/tenants/acme/connections",
            &[
                ("name", "exact"),
                ("display_name", "Exact Online"),
                ("client_id", "my-exact-app"),
                ("client_secret", "my-exact-secret"),
                ("site", "custom"),
                ("custom_url", &fake.base_url()),
                ("profile", "on"),
                ("set_user_root_attributes", "on_each_login"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let apps_tab = location(&res);
    let connection_id = apps_tab.split('/').nth(4).unwrap().to_owned();
    assert!(apps_tab.ends_with("/applications"));

    // Enable it for the application.
    let res = dash
        .submit(
            &apps_tab,
            &apps_tab,
            &[("client_id", &client_id), ("enabled", "true")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let enabled =
        gatehouse::db::connections::enabled_clients(&app.pool, tenant.tenant_id, &connection_id)
            .await
            .unwrap();
    assert_eq!(enabled, vec![client_id.clone()]);
    assert!(dash.page(&apps_tab).await.contains("Enabled"));

    // Saving with an empty secret keeps the stored one.
    let settings = format!("/tenants/acme/connections/{connection_id}");
    let edit = dash.page(&settings).await;
    assert!(edit.contains("A secret is set"));
    let version = gatehouse::db::connections::by_id(&app.pool, tenant.tenant_id, &connection_id)
        .await
        .unwrap()
        .unwrap()
        .version
        .to_string();
    let res = dash
        .submit(
            &settings,
            &settings,
            &[
                ("display_name", "Exact"),
                ("client_id", "my-exact-app"),
                ("client_secret", ""),
                ("site", "custom"),
                ("custom_url", &fake.base_url()),
                ("profile", "on"),
                ("set_user_root_attributes", "on_first_login"),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );

    // Try.
    let res = try_login(&app, &dash, &tenant, &connection_id).await;
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(body.contains("It works!"), "{body}");
    assert!(body.contains("Jan de Vries"));
    assert!(body.contains("exact|b0b2c3d4-0000-4000-8000-000000000001"));
    assert!(
        body.contains("CurrentDivision") || body.contains("123456"),
        "profileData shown"
    );

    let users = dash
        .page("/tenants/acme/users?email=jan%40example.nl")
        .await;
    assert!(users.contains("Jan de Vries"));
    let none = dash
        .page("/tenants/acme/users?email=nobody%40example.nl")
        .await;
    assert!(!none.contains("Jan de Vries"));
    let detail = dash
        .page("/tenants/acme/users/view?id=exact%7Cb0b2c3d4-0000-4000-8000-000000000001")
        .await;
    assert!(detail.contains("jan@example.nl") && detail.contains("CurrentDivision"));
    let logs = dash.page("/tenants/acme/logs?type=login_success").await;
    assert!(logs.contains("tag\">login_success") && !logs.contains("tag\">connection_created"));
    let all_logs = dash.page("/tenants/acme/logs").await;
    assert!(all_logs.contains("connection_created") && all_logs.contains("client_created"));

    // The overview's activity counts the Try's login and Jan's signup, today.
    let overview = dash.page("/tenants/acme").await;
    assert!(
        overview.contains("<strong>1</strong> active user in the last 30 days"),
        "{overview}"
    );
    assert!(overview
        .contains("<strong>1</strong> login and <strong>1</strong> signup in the last 14 days"));
    assert_eq!(overview.matches("<meter ").count(), 14);
    assert!(overview.contains(r#"<meter min="0" max="1" value="1">"#));
    fake.stop().await;
}

#[tokio::test]
async fn dashboard_try_shows_the_failed_step_and_what_exact_answered() {
    let app = spawn_app().await;
    let fake = start_fake_exact().await;
    let tenant = app.create_tenant("acme").await;
    let connection_id = connection_with_secret(&app, &tenant, &fake, "known-secret").await;
    let dash = operator(&app).await;
    fake.set_token_mode(TokenMode::InvalidGrant);
    let res = try_login(&app, &dash, &tenant, &connection_id).await;
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(body.contains("The login did not work"), "{body}");
    assert!(body.contains("upstream_token_exchange"), "{body}");
    assert!(body.contains("HTTP 400"), "{body}");
    assert!(body.contains("invalid_grant"), "{body}");
    assert!(!body.contains("known-secret"));
    let logs = dash.page("/tenants/acme/logs?type=login_failure").await;
    assert!(logs.contains("upstream_token_exchange") && logs.contains("invalid_grant"));
    fake.stop().await;
}

#[tokio::test]
async fn dashboard_escapes_profile_html_from_exact() {
    let app = spawn_app().await;
    let fake = start_fake_exact().await;
    let tenant = app.create_tenant("acme").await;
    let connection_id = connection_with_secret(&app, &tenant, &fake, "known-secret").await;
    fake.set_user(FakeUser {
        full_name: Some("<script>alert(1)</script>".into()),
        email: Some("x\"><img src=x onerror=alert(2)>@example.nl".into()),
        ..FakeUser::jan()
    });
    let dash = operator(&app).await;
    let res = try_login(&app, &dash, &tenant, &connection_id).await;
    let body = res.text().await.unwrap();
    assert!(body.contains("It works!"), "{body}");
    let user = "/tenants/acme/users/view?id=exact%7Cb0b2c3d4-0000-4000-8000-000000000001";
    for page in [
        body,
        dash.page("/tenants/acme/users").await,
        dash.page(user).await,
        dash.page("/tenants/acme/logs").await,
    ] {
        assert!(!page.contains("<script>alert(1)"), "{page}");
        assert!(!page.contains("<img src=x"), "{page}");
    }
    let escaped = dash.page(user).await;
    assert!(
        escaped.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || escaped.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{escaped}"
    );
    fake.stop().await;
}

#[tokio::test]
async fn dashboard_shows_an_application_secret_once_and_on_rotation() {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let client = app.create_client(&tenant, "regular_web").await;
    let dash = operator(&app).await;
    let page = format!("/tenants/acme/applications/{}", client.client_id);
    let body = dash.page(&page).await;
    assert!(!body.contains(client.client_secret.as_deref().unwrap()));
    let res = dash
        .submit(&page, &format!("{page}/rotate-secret"), &[])
        .await;
    assert_eq!(res.status(), 200);
    let rotated = res.text().await.unwrap();
    let marker = "id=\"client-secret\" class=\"secret\">";
    let start = rotated.find(marker).expect("new secret shown") + marker.len();
    let secret = &rotated[start..start + rotated[start..].find('<').unwrap()];
    assert!(secret.len() >= 40);
    assert!(
        !dash.page(&page).await.contains(secret),
        "never shown again"
    );

    // Deletion asks first.
    let confirm = dash.page(&format!("{page}/delete")).await;
    assert!(confirm.contains("cannot be undone"));
    let res = dash
        .submit(&format!("{page}/delete"), &format!("{page}/delete"), &[])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(dash.get(&page).await.status(), 404);
}

#[tokio::test]
async fn dashboard_sets_the_web_origins_a_browser_application_runs_on() {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let client = app.create_client(&tenant, "spa").await;
    let dash = operator(&app).await;
    let page = format!("/tenants/acme/applications/{}", client.client_id);
    let before = dash.page(&page).await;
    assert!(before.contains("Allowed web origins"));
    assert!(
        before.contains("lists no web origin"),
        "a SPA without an origin is warned about"
    );
    let form = |origins: &'static str| {
        vec![
            ("name", "Shop SPA"),
            ("app_type", "spa"),
            ("callbacks", client.callback.as_str()),
            ("logout_urls", ""),
            ("web_origins", origins),
        ]
    };
    // A URL with a path is not an origin: the line is named and what was typed stays.
    let res = dash
        .submit(
            &page,
            &page,
            &form("https://spa.example.com\nhttps://spa.example.com/app"),
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("line 2: must be an origin"), "{body}");
    assert!(
        body.contains("https://spa.example.com/app</textarea>"),
        "{body}"
    );

    let res = dash
        .submit(
            &page,
            &page,
            &form("https://SPA.example.com/\nhttp://localhost:3000"),
        )
        .await;
    assert_eq!(res.status(), 303);
    let stored = gatehouse::db::clients::by_id(&app.pool, tenant.tenant_id, &client.client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.web_origins,
        ["https://spa.example.com", "http://localhost:3000"]
    );
    let after = dash.page(&page).await;
    assert!(after.contains(">https://spa.example.com\nhttp://localhost:3000</textarea>"));
    assert!(!after.contains("lists no web origin"));
}

#[tokio::test]
async fn dashboard_rotates_and_revokes_signing_keys() {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let dash = operator(&app).await;
    let keys = || async {
        gatehouse::db::signing_keys::all(&app.pool, tenant.tenant_id)
            .await
            .unwrap()
    };
    let first = keys().await[0].kid.clone();
    let overview = dash.page("/tenants/acme").await;
    assert!(overview.contains("Signing keys") && overview.contains(&first));
    assert!(
        !overview.contains("keys/revoke"),
        "the current key cannot be revoked"
    );

    let res = dash
        .submit("/tenants/acme", "/tenants/acme/keys/rotate", &[])
        .await;
    assert_eq!(res.status(), 303);
    let after = keys().await;
    assert_eq!(after.len(), 2);
    assert_eq!(
        (after[0].state.as_str(), after[1].state.as_str()),
        ("current", "previous")
    );
    let overview = dash.page("/tenants/acme").await;
    assert!(
        overview.contains("signs from now on"),
        "the flash says what happened"
    );
    assert!(overview.contains(&format!("name=\"kid\" value=\"{first}\"")));

    // Revoking asks for the box to be ticked first.
    let res = dash
        .submit(
            "/tenants/acme",
            "/tenants/acme/keys/revoke",
            &[("kid", &first)],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(dash.page("/tenants/acme").await.contains("Tick the box"));
    assert_eq!(keys().await[1].state, "previous");

    let res = dash
        .submit(
            "/tenants/acme",
            "/tenants/acme/keys/revoke",
            &[("kid", &first), ("confirm", "on")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(keys().await[1].state, "revoked");
    let overview = dash.page("/tenants/acme").await;
    assert!(overview.contains("no longer verify"), "{overview}");
    let kids = app.published_kids(&tenant).await;
    assert!(!kids.contains(&first), "{kids:?}");
}

#[tokio::test]
async fn dashboard_tenant_settings_change_display_name_and_domains() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let dash = operator(&app).await;
    let res = dash
        .submit(
            "/tenants/acme",
            "/tenants/acme/settings",
            &[("display_name", "Acme Corp")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let res = dash
        .submit(
            "/tenants/acme",
            "/tenants/acme/domains",
            &[("domain", "login.acme.test")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let res = dash
        .submit(
            "/tenants/acme",
            "/tenants/acme/domains",
            &[("domain", "not a domain")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("value=\"not a domain\""));
    let page = dash.page("/tenants/acme").await;
    assert!(page.contains("Acme Corp") && page.contains("login.acme.test"));
    let res = dash
        .submit(
            "/tenants/acme",
            "/tenants/acme/domains/remove",
            &[("domain", "login.acme.test")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(!dash
        .page("/tenants/acme")
        .await
        .contains("value=\"login.acme.test\""));

    // Each change is in the tenant's log with who made it and from where.
    type Change = (String, Option<String>, Option<String>, Option<String>);
    let changes: Vec<Change> = sqlx::query_as(
        "SELECT type, actor, ip, user_agent FROM events e JOIN tenants t USING (tenant_id)
         WHERE t.slug = 'acme' AND type LIKE 'tenant_%' AND actor LIKE 'admin:%' ORDER BY at",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let kinds: Vec<&str> = changes.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "tenant_updated",
            "tenant_domain_added",
            "tenant_domain_removed"
        ]
    );
    for (_, _, ip, user_agent) in &changes {
        assert_eq!(ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(user_agent.as_deref(), Some(TEST_USER_AGENT));
    }
}

#[tokio::test]
async fn dashboard_deletes_users_and_connections_after_confirmation() {
    let app = spawn_app().await;
    let fake = start_fake_exact().await;
    let tenant = app.create_tenant("acme").await;
    let connection_id = connection_with_secret(&app, &tenant, &fake, "known-secret").await;
    let dash = operator(&app).await;
    assert_eq!(
        try_login(&app, &dash, &tenant, &connection_id)
            .await
            .status(),
        200
    );
    let confirm = "/tenants/acme/users/delete?id=exact%7Cb0b2c3d4-0000-4000-8000-000000000001";
    assert!(dash.page(confirm).await.contains("Delete user"));
    let res = dash
        .submit(
            confirm,
            "/tenants/acme/users/delete",
            &[("id", "exact|b0b2c3d4-0000-4000-8000-000000000001")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(gatehouse::db::users::by_id(
        &app.pool,
        tenant.tenant_id,
        "exact|b0b2c3d4-0000-4000-8000-000000000001"
    )
    .await
    .unwrap()
    .is_none());

    let page = format!("/tenants/acme/connections/{connection_id}/delete");
    assert!(dash.page(&page).await.contains("cannot be undone"));
    let res = dash.submit(&page, &page, &[]).await;
    assert_eq!(res.status(), 303);
    assert!(
        gatehouse::db::connections::by_id(&app.pool, tenant.tenant_id, &connection_id)
            .await
            .unwrap()
            .is_none()
    );
    fake.stop().await;
}

/// The `href` of the pager's link with `rel`, unescaped.
fn pager_link(html: &str, rel: &str) -> Option<String> {
    let at = html.find(&format!("rel=\"{rel}\" href=\""))?;
    let rest = &html[at + rel.len() + 13..];
    Some(rest[..rest.find('"')?].replace("&amp;", "&"))
}

#[tokio::test]
async fn dashboard_pages_through_long_logs_and_user_lists_keeping_the_filter() {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let dash = operator(&app).await;
    for n in 0..60 {
        let event = gatehouse::db::events::NewEvent {
            event_type: if n % 2 == 0 {
                "login_success"
            } else {
                "login_failure"
            },
            description: format!("event number {n}."),
            ..Default::default()
        };
        gatehouse::db::events::record(&app.pool, tenant.tenant_id, &event)
            .await
            .unwrap();
    }
    sqlx::query(
        "INSERT INTO users (tenant_id, user_id, email, created_at)
         SELECT $1, 'exact|u' || n, 'u' || n || '@example.nl', now() - n * interval '1 minute'
         FROM generate_series(1, 55) n",
    )
    .bind(tenant.tenant_id)
    .execute(&app.pool)
    .await
    .unwrap();

    // 30 failures: 1-30 of 30, no pager links. All 60 events (and the tenant's own): two pages.
    let failures = dash.page("/tenants/acme/logs?type=login_failure").await;
    assert!(failures.contains("1–30 of 30"), "{failures}");
    assert!(pager_link(&failures, "next").is_none());
    let first = dash.page("/tenants/acme/logs").await;
    let next = pager_link(&first, "next").expect("a link to older events");
    assert!(first.contains("event number 59.") && !first.contains("event number 5."));
    let second = dash.page(&next).await;
    assert!(second.contains("51–") && second.contains("event number 0."));
    assert!(pager_link(&second, "next").is_none());
    assert_eq!(
        pager_link(&second, "prev").as_deref(),
        Some("/tenants/acme/logs?page=0")
    );
    // A filter is kept from page to page.
    let typed = dash
        .page("/tenants/acme/logs?type=login_success&user=x%20y")
        .await;
    assert!(typed.contains("0 event(s)"));
    let bad = "/tenants/acme/logs?type=login_success&connection=a%26b&page=0";
    assert!(dash.page(bad).await.contains("0 event(s)"));
    let success = dash
        .page("/tenants/acme/logs?type=login_success&page=abc")
        .await;
    assert!(
        success.contains("1–30 of 30"),
        "a page that is not a number is the first"
    );

    let users = dash.page("/tenants/acme/users").await;
    assert!(users.contains("1–50 of 55") && users.contains("u1@example.nl"));
    let older = pager_link(&users, "next").unwrap();
    assert_eq!(older, "/tenants/acme/users?page=1");
    let rest = dash.page(&older).await;
    assert!(rest.contains("51–55 of 55") && rest.contains("u55@example.nl"));
    let beyond = dash.page("/tenants/acme/users?page=9").await;
    assert!(beyond.contains("Nothing on this page (55 in all)"));
    assert_eq!(
        pager_link(&beyond, "prev").as_deref(),
        Some("/tenants/acme/users?page=1")
    );
    let one = dash.page("/tenants/acme/users?email=U7%40example.nl").await;
    assert!(one.contains("1–1 of 1") && pager_link(&one, "next").is_none());
}

#[tokio::test]
async fn dashboard_blocks_and_unblocks_a_user() {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    sqlx::query(
        "INSERT INTO users (tenant_id, user_id, email) VALUES ($1, 'exact|u1', 'u1@example.nl')",
    )
    .bind(tenant.tenant_id)
    .execute(&app.pool)
    .await
    .unwrap();
    let dash = operator(&app).await;
    let page = "/tenants/acme/users/view?id=exact%7Cu1";
    assert!(dash.page(page).await.contains(">Block</button>"));
    let res = dash
        .submit(
            page,
            "/tenants/acme/users/block",
            &[("id", "exact|u1"), ("blocked", "true")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), page);
    let blocked = dash.page(page).await;
    assert!(blocked.contains("User blocked") && blocked.contains(">Unblock</button>"));
    assert!(dash
        .page("/tenants/acme/users")
        .await
        .contains("tag bad\">blocked"));
    let user = gatehouse::db::users::by_id(&app.pool, tenant.tenant_id, "exact|u1")
        .await
        .unwrap()
        .unwrap();
    assert!(user.blocked);

    dash.submit(
        page,
        "/tenants/acme/users/block",
        &[("id", "exact|u1"), ("blocked", "false")],
    )
    .await;
    assert!(dash.page(page).await.contains(">Block</button>"));
    let logs = dash.page("/tenants/acme/logs?user=exact%7Cu1").await;
    assert!(logs.contains("user_blocked") && logs.contains("user_unblocked"));
}
