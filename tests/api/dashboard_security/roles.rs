//! Roles: a tenant admin cannot reach another tenant, a read-only admin can look but not
//! change, and a connection's client secret is never rendered.

use crate::dashboard::*;
use crate::helpers::*;

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
