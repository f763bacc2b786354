//! Forms: refused without a CSRF token or from another origin, and GETs never change state.

use super::*;
use crate::dashboard::*;
use crate::helpers::*;

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
