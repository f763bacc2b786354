//! The dashboard's defences: CSRF and same-origin checks, tenant isolation, read-only roles,
//! write-only secrets, session cookies and lifetimes, sign-in throttling, and headers.

use std::net::TcpListener;

use gatehouse::config::PublicScheme;
use gatehouse::crypto::seal::{MasterKey, Sealer};
use gatehouse::startup::Application;
use gatehouse::state::AppState;
use secrecy::SecretString;

use crate::dashboard::*;
use crate::helpers::*;

fn set_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn session_value(res: &reqwest::Response, name: &str) -> String {
    set_cookies(res)
        .iter()
        .find_map(|c| {
            c.strip_prefix(&format!("{name}="))
                .map(|v| v.split(';').next().unwrap().to_owned())
        })
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", set_cookies(res)))
}

/// A client without a cookie jar that presents exactly the cookie it is given.
async fn get_with_cookie(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("http://127.0.0.1:{}{path}", app.port))
        .header("Host", &app.base_domain)
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
}

async fn tenant_count(app: &TestApp) -> usize {
    gatehouse::db::tenants::list(&app.pool).await.unwrap().len()
}

#[tokio::test]
async fn dashboard_refuses_forms_without_csrf_token_or_from_another_origin() {
    let app = spawn_app().await;
    let dash = operator(&app).await;
    let csrf = dash.csrf("/tenants/new").await;
    let url = app.admin_url("/tenants");
    let fields = |token: &str| vec![("csrf", token.to_owned()), ("slug", "acme".to_owned())];

    // No token, a wrong token.
    for token in ["", "not-the-token"] {
        let res = dash
            .post("/tenants", &[("csrf", token), ("slug", "acme")])
            .await;
        assert_eq!(res.status(), 403, "token {token:?}");
    }
    let res = dash.post("/tenants", &[("slug", "acme")]).await;
    assert_eq!(res.status(), 403, "no csrf field at all");
    // Right token, wrong origin / no origin / a foreign referer.
    let res = dash
        .http
        .post(&url)
        .header("Origin", "http://evil.example")
        .form(&fields(&csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = dash
        .http
        .post(&url)
        .header("Origin", "null")
        .form(&fields(&csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = dash
        .http
        .post(&url)
        .form(&fields(&csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "neither Origin nor Referer");
    let res = dash
        .http
        .post(&url)
        .header("Referer", "http://evil.example/page")
        .form(&fields(&csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = dash
        .http
        .post(&url)
        .header("Referer", format!("{}.evil.example/", app.admin_url("")))
        .form(&fields(&csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        403,
        "a referer that merely starts with the origin"
    );
    // Another admin's token.
    create_admin(&app, "other@example.com", true).await;
    let other = Dash::new(&app);
    other.sign_in("other@example.com", PASSWORD).await;
    let theirs = other.csrf("/tenants/new").await;
    assert_ne!(theirs, csrf);
    assert_eq!(
        dash.post("/tenants", &[("csrf", &theirs), ("slug", "acme")])
            .await
            .status(),
        403
    );
    assert_eq!(tenant_count(&app).await, 0, "nothing was created");

    // The sign-in form is protected the same way.
    let res = Dash::new(&app)
        .post(
            "/signin",
            &[("email", "ops@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), 403);

    // And the real thing works, with a Referer instead of an Origin too.
    let res = dash
        .http
        .post(&url)
        .header("Referer", app.admin_url("/tenants/new"))
        .form(&fields(&csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(tenant_count(&app).await, 1);
}

#[tokio::test]
async fn dashboard_gets_never_change_state() {
    let app = spawn_app().await;
    let fake = start_fake_exact().await;
    let tenant = app.create_tenant("acme").await;
    let connection_id = connection_with_secret(&app, &tenant, &fake, "known").await;
    let dash = operator(&app).await;
    for path in [
        format!("/tenants/acme/connections/{connection_id}/try"),
        format!("/tenants/acme/connections/{connection_id}/delete"),
        "/signout".to_owned(),
    ] {
        let res = dash.get(&path).await;
        assert!(
            res.status() == 200 || res.status() == 404 || res.status() == 405,
            "{path}: {}",
            res.status()
        );
    }
    assert!(
        gatehouse::db::connections::by_id(&app.pool, tenant.tenant_id, &connection_id)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(dash.get("/tenants").await.status(), 200, "still signed in");
    fake.stop().await;
}

#[tokio::test]
async fn dashboard_tenant_admin_cannot_reach_another_tenant() {
    let app = spawn_app().await;
    let fake = start_fake_exact().await;
    let mine = app.create_tenant("mine").await;
    let theirs = app.create_tenant("theirs").await;
    let their_client = app.create_client(&theirs, "regular_web").await;
    let their_connection = connection_with_secret(&app, &theirs, &fake, "their-secret").await;
    let dash = member(&app, &mine, "admin@mine.example", "admin").await;

    let list = dash.page("/tenants").await;
    assert!(list.contains("/tenants/mine") && !list.contains("theirs"));
    assert_eq!(dash.get("/tenants/mine").await.status(), 200);

    let missing = dash.get("/tenants/does-not-exist").await;
    assert_eq!(missing.status(), 404);
    let missing_body = missing.text().await.unwrap();
    for path in [
        "/tenants/theirs".to_owned(),
        "/tenants/theirs/applications".to_owned(),
        format!("/tenants/theirs/applications/{}", their_client.client_id),
        "/tenants/theirs/connections".to_owned(),
        format!("/tenants/theirs/connections/{their_connection}"),
        format!("/tenants/theirs/connections/{their_connection}/applications"),
        "/tenants/theirs/users".to_owned(),
        "/tenants/theirs/logs".to_owned(),
        "/tenants/theirs/admins".to_owned(),
        // Their objects through my tenant.
        format!("/tenants/mine/applications/{}", their_client.client_id),
        format!("/tenants/mine/connections/{their_connection}"),
    ] {
        let res = dash.get(&path).await;
        assert_eq!(res.status(), 404, "{path}");
        let body = res.text().await.unwrap();
        if path.starts_with("/tenants/theirs") {
            assert_eq!(
                body, missing_body,
                "{path} looks like a tenant that does not exist"
            );
        }
    }
    let csrf = dash.csrf("/tenants/mine").await;
    let res = dash
        .post(
            "/tenants/theirs/settings",
            &[("csrf", &csrf), ("display_name", "pwned")],
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = dash
        .post(
            &format!("/tenants/theirs/connections/{their_connection}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = dash
        .post(
            &format!("/tenants/mine/connections/{their_connection}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(res.status(), 404);
    assert!(
        gatehouse::db::connections::by_id(&app.pool, theirs.tenant_id, &their_connection)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        gatehouse::db::tenants::by_slug(&app.pool, "theirs")
            .await
            .unwrap()
            .unwrap()
            .display_name,
        "theirs"
    );
    // Tenant admins do not create tenants.
    assert_eq!(dash.get("/tenants/new").await.status(), 403);
    assert_eq!(
        dash.post("/tenants", &[("csrf", &csrf), ("slug", "new-one")])
            .await
            .status(),
        403
    );
    fake.stop().await;
}

#[tokio::test]
async fn dashboard_read_only_admin_can_look_but_not_change() {
    let app = spawn_app().await;
    let fake = start_fake_exact().await;
    let tenant = app.create_tenant("acme").await;
    let client = app.create_client(&tenant, "regular_web").await;
    let connection_id = connection_with_secret(&app, &tenant, &fake, "known").await;
    let dash = member(&app, &tenant, "viewer@acme.example", "read_only").await;
    let con = format!("/tenants/acme/connections/{connection_id}");
    let app_page = format!("/tenants/acme/applications/{}", client.client_id);
    for path in [
        "/tenants/acme",
        "/tenants/acme/applications",
        &app_page,
        "/tenants/acme/connections",
        &con,
        &format!("{con}/applications"),
        "/tenants/acme/users",
        "/tenants/acme/logs",
        "/tenants/acme/admins",
    ] {
        let body = dash.page(path).await;
        assert!(body.contains("read-only"), "{path} says read-only");
        assert!(!body.contains("/try\""), "{path} offers no Try");
    }
    let csrf = dash.csrf("/tenants/acme").await;
    let before = gatehouse::db::connections::by_id(&app.pool, tenant.tenant_id, &connection_id)
        .await
        .unwrap()
        .unwrap()
        .version;
    for (path, fields) in [
        (
            "/tenants/acme/settings".to_owned(),
            vec![("display_name", "changed")],
        ),
        (
            "/tenants/acme/domains".to_owned(),
            vec![("domain", "x.example.com")],
        ),
        (
            "/tenants/acme/applications".to_owned(),
            vec![("name", "new"), ("app_type", "spa")],
        ),
        (
            app_page.clone(),
            vec![("name", "renamed"), ("app_type", "regular_web")],
        ),
        (format!("{app_page}/rotate-secret"), vec![]),
        (format!("{app_page}/delete"), vec![]),
        (
            "/tenants/acme/connections".to_owned(),
            vec![
                ("name", "other"),
                ("client_id", "x"),
                ("client_secret", "y"),
                ("site", "https://start.exactonline.nl"),
            ],
        ),
        (
            con.clone(),
            vec![
                ("display_name", "x"),
                ("client_id", "x"),
                ("site", "https://start.exactonline.nl"),
            ],
        ),
        (
            format!("{con}/applications"),
            vec![
                ("client_id", client.client_id.as_str()),
                ("enabled", "true"),
            ],
        ),
        (format!("{con}/try"), vec![]),
        (format!("{con}/delete"), vec![]),
        (
            "/tenants/acme/users/delete".to_owned(),
            vec![("id", "exact|x")],
        ),
        ("/tenants/acme/keys/rotate".to_owned(), vec![]),
        (
            "/tenants/acme/keys/revoke".to_owned(),
            vec![("kid", "any"), ("confirm", "on")],
        ),
        (
            "/tenants/acme/admins".to_owned(),
            vec![("email", "friend@acme.example"), ("role", "admin")],
        ),
    ] {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend(fields);
        let res = dash.post(&path, &all).await;
        assert_eq!(res.status(), 403, "POST {path}");
    }
    let after = gatehouse::db::connections::by_id(&app.pool, tenant.tenant_id, &connection_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.version, before);
    assert_eq!(
        gatehouse::db::tenants::by_slug(&app.pool, "acme")
            .await
            .unwrap()
            .unwrap()
            .display_name,
        "acme"
    );
    assert_eq!(
        gatehouse::db::clients::count(&app.pool, tenant.tenant_id)
            .await
            .unwrap(),
        1
    );
    assert!(
        gatehouse::db::admins::by_email(&app.pool, "friend@acme.example")
            .await
            .unwrap()
            .is_none()
    );
    fake.stop().await;
}

#[tokio::test]
async fn dashboard_never_renders_a_connection_client_secret() {
    let app = spawn_app().await;
    let fake = start_fake_exact().await;
    let tenant = app.create_tenant("acme").await;
    let client = app.create_client(&tenant, "regular_web").await;
    const SECRET: &str = "Sup3r-S3cret-Value-0f-The-Exact-App";
    let connection_id = connection_with_secret(&app, &tenant, &fake, SECRET).await;
    let dash = operator(&app).await;
    let con = format!("/tenants/acme/connections/{connection_id}");
    // Through the form too, and a failed save.
    let version = gatehouse::db::connections::by_id(&app.pool, tenant.tenant_id, &connection_id)
        .await
        .unwrap()
        .unwrap()
        .version
        .to_string();
    let res = dash
        .submit(
            &con,
            &con,
            &[
                ("display_name", "Exact"),
                ("client_id", "exact-app"),
                ("client_secret", SECRET),
                ("site", "custom"),
                ("custom_url", &fake.base_url()),
                ("profile", "on"),
                ("set_user_root_attributes", "on_each_login"),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let res = dash
        .submit(
            &con,
            &con,
            &[
                ("display_name", "Exact"),
                ("client_id", ""),
                ("client_secret", SECRET),
                ("site", "custom"),
                ("custom_url", &fake.base_url()),
                ("set_user_root_attributes", "on_each_login"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(!res.text().await.unwrap().contains(SECRET));
    let res = dash
        .submit(
            &format!("{con}/applications"),
            &format!("{con}/applications"),
            &[("client_id", &client.client_id), ("enabled", "true")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        try_login(&app, &dash, &tenant, &connection_id)
            .await
            .status(),
        200
    );

    let events = gatehouse::db::events::page(
        &app.pool,
        tenant.tenant_id,
        &Default::default(),
        gatehouse::db::events::Order::NewestFirst,
        0,
        100,
    )
    .await
    .unwrap();
    let mut pages = vec![
        "/tenants".to_owned(),
        "/tenants/acme".to_owned(),
        "/tenants/acme/applications".to_owned(),
        format!("/tenants/acme/applications/{}", client.client_id),
        "/tenants/acme/connections".to_owned(),
        "/tenants/acme/connections/new".to_owned(),
        con.clone(),
        format!("{con}/applications"),
        format!("{con}/delete"),
        "/tenants/acme/users".to_owned(),
        "/tenants/acme/users/view?id=exact%7Cb0b2c3d4-0000-4000-8000-000000000001".to_owned(),
        "/tenants/acme/logs".to_owned(),
        "/tenants/acme/admins".to_owned(),
    ];
    pages.extend(
        events
            .iter()
            .map(|e| format!("/tenants/acme/logs/{}", e.event_id)),
    );
    for path in &pages {
        let body = dash.page(path).await;
        assert!(!body.contains(SECRET), "{path} shows the secret");
    }
    fake.stop().await;
}

#[tokio::test]
async fn dashboard_session_cookie_is_httponly_lax_and_new_at_each_sign_in() {
    let app = spawn_app().await;
    create_admin(&app, "ops@example.com", true).await;
    let dash = Dash::new(&app);
    let csrf = dash.csrf("/signin").await;
    let form = [
        ("csrf", csrf.as_str()),
        ("email", "ops@example.com"),
        ("password", PASSWORD),
    ];
    let first = dash.post("/signin", &form).await;
    let cookie = set_cookies(&first)
        .into_iter()
        .find(|c| c.starts_with("gatehouse-admin="))
        .unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http: no Secure");
    let first_id = session_value(&first, "gatehouse-admin");

    // Signing in again (with the old cookie present) gives a new id and drops the old session.
    let second = dash.post("/signin", &form).await;
    let second_id = session_value(&second, "gatehouse-admin");
    assert_ne!(first_id, second_id);
    let stale = get_with_cookie(&app, "/tenants", &format!("gatehouse-admin={first_id}")).await;
    assert_eq!(stale.status(), 303);
    assert!(location(&stale).starts_with("/signin"));
    let live = get_with_cookie(&app, "/tenants", &format!("gatehouse-admin={second_id}")).await;
    assert_eq!(live.status(), 200);

    // Only a hash of the id is stored.
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT session_hash FROM admin_sessions")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], second_id.as_bytes());
}

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
async fn dashboard_sign_out_ends_the_session_server_side() {
    let app = spawn_app().await;
    create_admin(&app, "ops@example.com", true).await;
    let dash = Dash::new(&app);
    let res = dash.sign_in("ops@example.com", PASSWORD).await;
    let id = session_value(&res, "gatehouse-admin");
    let res = dash.submit("/tenants", "/signout", &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/signin");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM admin_sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
    let replay = get_with_cookie(&app, "/tenants", &format!("gatehouse-admin={id}")).await;
    assert_eq!(replay.status(), 303, "the old cookie no longer opens pages");
}

#[tokio::test]
async fn dashboard_sessions_end_when_idle_or_too_old() {
    let app = spawn_app().await;
    create_admin(&app, "ops@example.com", true).await;
    for sql in [
        "UPDATE admin_sessions SET last_seen_at = now() - interval '31 minutes'",
        "UPDATE admin_sessions SET expires_at = now() - interval '1 second'",
    ] {
        let dash = Dash::new(&app);
        dash.sign_in("ops@example.com", PASSWORD).await;
        assert_eq!(dash.get("/tenants").await.status(), 200);
        sqlx::query(sql).execute(&app.pool).await.unwrap();
        let res = dash.get("/tenants").await;
        assert_eq!(res.status(), 303, "{sql}");
        assert!(location(&res).starts_with("/signin?next=%2Ftenants"));
    }
    // The absolute limit is 12 hours from sign-in.
    let dash = Dash::new(&app);
    dash.sign_in("ops@example.com", PASSWORD).await;
    let hours: f64 = sqlx::query_scalar("SELECT max(extract(epoch FROM expires_at - created_at))::float8 / 3600 FROM admin_sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!((hours - 12.0).abs() < 0.01, "{hours}");
}

#[tokio::test]
async fn dashboard_removing_an_admin_ends_their_sessions() {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let ops = operator(&app).await;
    let res = ops
        .submit(
            "/tenants/acme/admins",
            "/tenants/acme/admins",
            &[
                ("email", "helper@acme.example"),
                ("role", "admin"),
                ("password", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "a generated password is shown once");
    let body = res.text().await.unwrap();
    let marker = "id=\"one-time-password\" class=\"secret\">";
    let start = body.find(marker).unwrap() + marker.len();
    let password = body[start..start + body[start..].find('<').unwrap()].to_owned();
    assert!(!ops.page("/tenants/acme/admins").await.contains(&password));

    let helper = Dash::new(&app);
    assert_eq!(
        helper
            .sign_in("helper@acme.example", &password)
            .await
            .status(),
        303
    );
    assert_eq!(helper.get("/tenants/acme").await.status(), 200);
    let admin = gatehouse::db::admins::by_email(&app.pool, "helper@acme.example")
        .await
        .unwrap()
        .unwrap();
    let res = ops
        .submit(
            "/tenants/acme/admins",
            &format!("/tenants/acme/admins/{}/remove", admin.admin_id),
            &[],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        helper.get("/tenants/acme").await.status(),
        303,
        "signed out"
    );
    assert!(
        gatehouse::db::admins::role_in(&app.pool, tenant.tenant_id, admin.admin_id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn dashboard_throttles_failed_sign_ins_with_the_same_answer_for_unknown_and_wrong() {
    let app = spawn_app().await;
    create_admin(&app, "real@example.com", true).await;
    let dash = Dash::new(&app);
    let csrf = dash.csrf("/signin").await;
    let attempt = |email: &'static str, password: String| {
        let dash = &dash;
        let csrf = csrf.clone();
        async move {
            let res = dash
                .post(
                    "/signin",
                    &[
                        ("csrf", csrf.as_str()),
                        ("email", email),
                        ("password", &password),
                    ],
                )
                .await;
            let status = res.status();
            // Present or not; its value ticks with the clock.
            let retry = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
            let body = res.text().await.unwrap().replace(email, "EMAIL");
            (status, retry, body)
        }
    };
    for i in 0..5 {
        let wrong = attempt("real@example.com", format!("wrong password {i}")).await;
        let started = std::time::Instant::now();
        let unknown = attempt("nobody@example.com", format!("wrong password {i}")).await;
        // An unknown e-mail still costs an argon2id verification (tens of milliseconds).
        assert!(
            started.elapsed() >= std::time::Duration::from_millis(10),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(wrong.0, 401);
        assert_eq!(wrong, unknown, "attempt {i}: same answer");
    }
    let wrong = attempt("real@example.com", PASSWORD.to_owned()).await;
    let unknown = attempt("nobody@example.com", PASSWORD.to_owned()).await;
    assert_eq!(wrong.0, 429, "even the right password waits");
    assert!(wrong.1.is_some_and(|n| n > 0 && n <= 900));
    assert!(unknown.1.is_some_and(|n| n > 0 && n <= 900));
    assert_eq!((wrong.0, wrong.2), (unknown.0, unknown.2));

    // Oversized input is refused like a wrong password, without hashing.
    let huge = attempt("big@example.com", "x".repeat(5000)).await;
    assert_eq!(huge.0, 401);

    // Per address: 20 failures from one client over many accounts.
    for i in 0..9 {
        let email: &'static str = Box::leak(format!("spray{i}@example.com").into_boxed_str());
        let res = attempt(email, "nope".into()).await;
        assert_eq!(res.0, 401, "spray {i}");
    }
    let blocked = attempt("fresh@example.com", "nope".into()).await;
    assert_eq!(blocked.0, 429, "the address is throttled");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM signin_attempts")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        rows > 0,
        "throttling lives in the database, shared by all nodes"
    );
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
