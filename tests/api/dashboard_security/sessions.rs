//! Sessions: an HttpOnly, Lax cookie new at each sign-in, ended server-side at sign-out, when
//! idle or too old, and when the admin is removed.

use super::*;
use crate::dashboard::*;
use crate::helpers::*;

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
