//! A connection's Health tab over HTTP: after two good logins and one that Exact refuses, it
//! shows the counts, the failing step, the last failure's trace (linked to its log entry) and
//! the wrong-secret hint, all escaped; the connections list links to it with a badge; roles.

use fake_exact::TokenMode;

use crate::dashboard::{location, member, Dash};
use crate::helpers::*;
use crate::login::{login, login_setup, LoginSetup};

/// The trace id the application was told about in a failed login's `error_description`.
fn trace_of(res: &reqwest::Response) -> String {
    let description = location_params(res).1["error_description"].clone();
    let start = description
        .find("(trace ")
        .expect("the error names its trace")
        + 7;
    description[start..start + 36].to_owned()
}

async fn connection_id(s: &LoginSetup) -> String {
    gatehouse::db::connections::by_name(&s.app.pool, s.tenant.tenant_id, "exact")
        .await
        .unwrap()
        .expect("the connection")
        .connection_id
}

/// Two good logins, then one Exact refuses; returns the failed one's trace id.
async fn two_good_one_refused(s: &LoginSetup) -> String {
    for _ in 0..2 {
        let res = login(s, &s.web, &[]).await;
        assert!(location_params(&res).1.contains_key("code"), "a good login");
    }
    s.fake.set_token_mode(TokenMode::InvalidGrant);
    let res = login(s, &s.web, &[]).await;
    assert!(
        location_params(&res).1.contains_key("error"),
        "a refused login"
    );
    trace_of(&res)
}

/// The text of a page: tags removed, white space collapsed.
fn text_of(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => text.push(ch),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The `href` of the first link whose text is `text`.
fn href_of(html: &str, text: &str) -> String {
    let end = html
        .find(&format!("\">{text}</a>"))
        .unwrap_or_else(|| panic!("a link {text}: {html}"));
    let start = html[..end].rfind("href=\"").unwrap() + 6;
    html[start..end].to_owned()
}

#[tokio::test]
async fn health_tab_shows_counts_failing_step_last_trace_and_the_wrong_secret_hint() {
    let s = login_setup().await;
    let trace = two_good_one_refused(&s).await;
    let id = connection_id(&s).await;
    let dash = member(&s.app, &s.tenant, "admin@acme.example", "admin").await;
    let path = format!("/tenants/acme/connections/{id}/health");
    let page = dash.page(&path).await;

    // Volume and success rate, in both windows.
    assert_eq!(page.matches("66.7%").count(), 2, "{page}");
    let text = text_of(&page);
    assert_eq!(text.matches("2 succeeded").count(), 2, "{text}");
    assert_eq!(text.matches("1 failed").count(), 2, "{text}");
    assert_eq!(text.matches("0 abandoned").count(), 2, "{text}");
    assert!(page.contains("success rate of 3 logins"), "{page}");
    // Bars are classes, never inline styles (the CSP forbids them).
    assert!(
        page.contains("part ok w-65") && page.contains("part failed w-35"),
        "{page}"
    );
    assert!(!page.contains("style="), "{page}");

    // The failing step, with its bar.
    assert!(
        page.contains("<span class=\"step-name mono\">upstream_token_exchange</span>"),
        "{page}"
    );
    assert!(page.contains("step-fill w-100"), "{page}");
    // Latency of the good logins.
    assert!(page.contains(" ms</p>"), "{page}");

    // The last failure: its trace id, linked to its log entry, and what Exact answered.
    assert!(page.contains(&trace), "{page}");
    let entry = href_of(&page, &trace);
    assert!(entry.starts_with("/tenants/acme/logs/"), "{entry}");
    let log = dash.page(&entry).await;
    assert!(
        log.contains(&trace) && log.contains("login_failure"),
        "{log}"
    );
    assert!(page.contains("HTTP 400"), "{page}");

    // The wrong-secret hint, as a callout.
    assert!(page.contains("class=\"health-hint\""), "{page}");
    assert!(page.contains("Exact refused the code exchange"), "{page}");
    assert!(page.contains("client ID and client secret"), "{page}");
    assert!(page.contains(&format!("{}login/callback", s.tenant.issuer)));

    // Exact's answer is shown as text: its quotes are escaped, nothing of it is markup.
    assert!(
        page.contains("&#34;invalid_grant&#34;") || page.contains("&quot;invalid_grant&quot;"),
        "{page}"
    );
    assert!(!page.contains("\"invalid_grant\""), "{page}");
    // Nothing the CSP would refuse: no inline script, nothing from elsewhere.
    assert!(!page.contains("<script>") && !page.contains("https://cdn"));

    // The tabs and the connections list link to it.
    let settings = dash.page(&format!("/tenants/acme/connections/{id}")).await;
    assert!(settings.contains(&format!("href=\"{path}\"")), "{settings}");
    let list = dash.page("/tenants/acme/connections").await;
    assert!(list.contains(&format!("href=\"{path}\"")), "{list}");
    assert!(list.contains("66.7% OK"), "{list}");
    assert!(
        list.contains("2 of 3 logins succeeded in the last 24 hours"),
        "{list}"
    );
    s.fake.stop().await;
}

#[tokio::test]
async fn health_tab_follows_the_connection_pages_roles() {
    let s = login_setup().await;
    let id = connection_id(&s).await;
    let path = format!("/tenants/acme/connections/{id}/health");

    // Before any login: a calm page, no failure, no numbers made up.
    let admin = member(&s.app, &s.tenant, "admin@acme.example", "admin").await;
    let page = admin.page(&path).await;
    assert!(
        page.contains("No logins") && page.contains("None yet."),
        "{page}"
    );
    assert!(page.contains("id=\"try\""), "admins may press Try");

    // Read-only admins may look, without the Try button.
    let viewer = member(&s.app, &s.tenant, "viewer@acme.example", "read_only").await;
    let page = viewer.page(&path).await;
    assert!(
        page.contains("Last hour") && !page.contains("id=\"try\""),
        "{page}"
    );

    // An admin of another tenant sees nothing: the same 404 as a connection that does not
    // exist, under either tenant's slug.
    let other = s.app.create_tenant("globex").await;
    let stranger = member(&s.app, &other, "admin@globex.example", "admin").await;
    assert_eq!(stranger.get(&path).await.status(), 404);
    assert_eq!(
        stranger
            .get(&format!("/tenants/globex/connections/{id}/health"))
            .await
            .status(),
        404
    );
    assert_eq!(
        admin
            .get("/tenants/acme/connections/con_nope/health")
            .await
            .status(),
        404
    );

    // Signed out: to the sign-in page.
    let anonymous = Dash::new(&s.app);
    let res = anonymous.get(&path).await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/signin"), "{}", location(&res));
    s.fake.stop().await;
}
