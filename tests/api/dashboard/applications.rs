//! Applications on the dashboard: a secret shown once and on rotation, and the web origins a
//! browser application runs on.

use super::*;
use crate::helpers::*;

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
