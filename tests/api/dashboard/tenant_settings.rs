//! A tenant's settings on the dashboard: signing keys rotated and revoked, display name and
//! domains changed.

use super::*;
use crate::helpers::*;

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
async fn a_tenant_created_in_the_dashboard_is_logged_as_created_by_its_operator() {
    let app = spawn_app().await;
    let dash = operator(&app).await;
    let res = dash
        .submit(
            "/tenants/new",
            "/tenants",
            &[("slug", "globex"), ("display_name", ""), ("domains", "")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let actors: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT actor FROM events e JOIN tenants t USING (tenant_id)
         WHERE t.slug = 'globex' AND type = 'tenant_created'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(actors.len(), 1);
    let actor = actors[0].as_deref().unwrap_or_default();
    assert!(actor.starts_with("admin:"), "logged as {actor:?}");
}
