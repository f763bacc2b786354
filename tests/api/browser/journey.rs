//! The operator's journey in a real browser, without reading docs: first run, sign in, tenant,
//! application, Exact connection (against the fake Exact), enable, Try, "It works!", the
//! connection's Health tab, sign out.

use std::time::Duration;

use fake_exact::FakeApp;
use fantoccini::Locator;

use super::{body_text, click, fill, screenshot, wait_path, Browser};
use crate::helpers::*;

const EMAIL: &str = "operator@example.com";
const PASSWORD: &str = "a long and good password";

#[tokio::test]
async fn dashboard_exact_setup_journey_in_chromium() {
    let app = spawn_app().await;
    let fake = start_fake_exact().await;
    fake.add_app(FakeApp {
        client_id: "gatehouse-demo-app".into(),
        client_secret: "demo-app-secret".into(),
        redirect_uris: vec![],
    });
    let browser = Browser::start().await;
    let c = &browser.client;

    // First run: the dashboard sends the operator to set up the first admin.
    c.goto(&app.admin_url("/")).await.unwrap();
    wait_path(c, "/setup").await;
    fill(c, "#email", EMAIL).await;
    fill(c, "#password", PASSWORD).await;
    fill(c, "#confirm", PASSWORD).await;
    click(c, "button[type=submit]").await;
    wait_path(c, "/signin").await;
    assert!(body_text(c).await.contains("Gatehouse is set up"));

    // Sign in.
    fill(c, "#email", EMAIL).await;
    fill(c, "#password", PASSWORD).await;
    click(c, "button[type=submit]").await;
    wait_path(c, "/tenants").await;

    // Tenant.
    click(c, "a[href='/tenants/new']").await;
    wait_path(c, "/tenants/new").await;
    fill(c, "#slug", "acme").await;
    fill(c, "#display_name", "Acme Inc.").await;
    click(c, "form.form button[type=submit]").await;
    wait_path(c, "/tenants/acme").await;
    assert!(body_text(c).await.contains("Getting started"));
    c.goto(&app.admin_url("/tenants")).await.unwrap();
    assert!(body_text(c)
        .await
        .contains(&format!("http://acme.{}/", app.base_domain)));
    screenshot(c, "tenants.png").await;

    // Application.
    c.goto(&app.admin_url("/tenants/acme/applications/new"))
        .await
        .unwrap();
    fill(c, "#name", "Web shop").await;
    fill(c, "#callbacks", "https://shop.example.com/callback").await;
    click(c, "form.form button[type=submit]").await;
    wait_path(c, "/tenants/acme/applications").await;
    assert!(body_text(c).await.contains("Copy the client secret now"));

    // Exact connection.
    c.goto(&app.admin_url("/tenants/acme/connections"))
        .await
        .unwrap();
    click(c, "a[href='/tenants/acme/connections/new']").await;
    wait_path(c, "/tenants/acme/connections/new").await;
    screenshot(c, "connection-chooser.png").await;
    click(c, "#preset-exact").await;
    wait_path(c, "/tenants/acme/connections/new").await;
    let callback = c
        .find(Locator::Css("#callback-url"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(
        callback,
        format!("http://acme.{}/login/callback", app.base_domain)
    );
    fill(c, "#client_id", "gatehouse-demo-app").await;
    fill(c, "#client_secret", "demo-app-secret").await;
    c.find(Locator::Css("#site"))
        .await
        .unwrap()
        .select_by_value("custom")
        .await
        .unwrap();
    fill(c, "#custom_url", &fake.base_url()).await;
    // Show the top of the form: the callback URL to paste into the App Center.
    let _ = c
        .execute(
            "window.scrollTo(0, 0); document.activeElement.blur();",
            vec![],
        )
        .await;
    screenshot(c, "connection-form.png").await;
    click(c, "form.form button[type=submit]").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !c
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/applications")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "connection not created: {}",
            body_text(c).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(body_text(c)
        .await
        .contains("Now enable it for your applications"));

    // Enable it for the application, then Try.
    click(c, "button[aria-label='Enable for Web shop']").await;
    c.wait()
        .for_element(Locator::Css("button[aria-label='Disable for Web shop']"))
        .await
        .unwrap();
    click(c, "#try").await;
    wait_path(c, "/tester/callback").await;
    c.wait()
        .for_element(Locator::Css(".result.ok"))
        .await
        .unwrap();
    let text = body_text(c).await;
    assert!(text.contains("It works!"), "{text}");
    assert!(text.contains("Jan de Vries"), "{text}");
    assert!(
        text.contains("exact|b0b2c3d4-0000-4000-8000-000000000001"),
        "{text}"
    );
    screenshot(c, "it-works.png").await;

    // Health: back to the connection, then its Health tab shows the login that just worked.
    click(c, ".result.ok .actions a.button.primary").await;
    click(c, "nav.subtabs a[href$='/health']").await;
    c.wait()
        .for_element(Locator::Css(".health-grid"))
        .await
        .unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/health"));
    let text = body_text(c).await;
    let first_text = |css: &'static str| async move {
        c.find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .unwrap()
    };
    assert_eq!(first_text(".health-window .big-number").await, "100%");
    assert_eq!(
        first_text(".health-window .legend li")
            .await
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["1", "succeeded"]
    );
    assert!(text.contains("success rate of 1 login"), "{text}");
    assert!(text.contains("No failed logins."), "{text}");
    screenshot(c, "connection-health.png").await;

    // Sign out: the pages are closed again.
    click(c, "form[action='/signout'] button").await;
    wait_path(c, "/signin").await;
    c.goto(&app.admin_url("/tenants/acme")).await.unwrap();
    wait_path(c, "/signin").await;
    assert!(c.find(Locator::Css("#password")).await.is_ok());

    browser.stop().await;
    fake.stop().await;
}
