//! Users, connections and logs on the dashboard: deletion after confirmation, long lists paged
//! through with their filter, users blocked and unblocked.

use super::*;
use crate::helpers::*;

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
