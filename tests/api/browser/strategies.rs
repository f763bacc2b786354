//! The dashboard with every kind of connection, in Chromium: from the "New connection"
//! chooser, an OpenID Connect connection and an OAuth2 one against the fake provider, each
//! tried to "It works!", with the findings of a newcomer's walk fixed on the way (the secret
//! asked for again after an error, a reloaded result that leads back, log entries in words
//! saying what changed and who did it).

use std::time::Duration;

use fake_exact::oidc::{FakeOidc, OidcClient};
use fantoccini::{Client, Locator};

use super::{body_text, click, fill, screenshot, wait_path, Browser};
use crate::helpers::*;

const EMAIL: &str = "newcomer@example.com";
const PASSWORD: &str = "a long and good password";

async fn sign_up_with_a_tenant(c: &Client, app: &TestApp) {
    c.goto(&app.admin_url("/")).await.unwrap();
    wait_path(c, "/setup").await;
    fill(c, "#email", EMAIL).await;
    fill(c, "#password", PASSWORD).await;
    fill(c, "#confirm", PASSWORD).await;
    click(c, "button[type=submit]").await;
    wait_path(c, "/signin").await;
    fill(c, "#email", EMAIL).await;
    fill(c, "#password", PASSWORD).await;
    click(c, "button[type=submit]").await;
    wait_path(c, "/tenants").await;
    c.goto(&app.admin_url("/tenants/new")).await.unwrap();
    fill(c, "#slug", "acme").await;
    fill(c, "#display_name", "Acme Inc.").await;
    click(c, "form.form button[type=submit]").await;
    wait_path(c, "/tenants/acme").await;
}

/// Opens the chooser entry `preset`.
async fn new_connection(c: &Client, app: &TestApp, preset: &str) {
    c.goto(&app.admin_url("/tenants/acme/connections"))
        .await
        .unwrap();
    click(c, "a[href='/tenants/acme/connections/new']").await;
    wait_path(c, "/tenants/acme/connections/new").await;
    click(c, &format!("#preset-{preset}")).await;
    c.wait()
        .for_element(Locator::Css("#client_id"))
        .await
        .unwrap();
}

/// Submits the connection form and waits for the connection's applications page.
async fn create(c: &Client) -> String {
    click(c, "form.form button[type=submit]").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let path = c.current_url().await.unwrap().path().to_owned();
        if path.ends_with("/applications") {
            return path.trim_end_matches("/applications").to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not created: {}",
            body_text(c).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Tries the connection at `path` through the fake provider's consent page.
async fn try_it(c: &Client, app: &TestApp, path: &str) -> String {
    c.goto(&app.admin_url(path)).await.unwrap();
    click(c, "#try").await;
    c.wait().for_element(Locator::Css("#allow")).await.unwrap();
    click(c, "#allow").await;
    wait_path(c, "/tester/callback").await;
    c.wait().for_element(Locator::Css(".result")).await.unwrap();
    body_text(c).await
}

#[tokio::test]
async fn oidc_and_oauth2_connections_are_made_and_tried_from_the_chooser_in_chromium() {
    let app = spawn_app().await;
    let idp = FakeOidc::start(OidcClient {
        client_id: "acme-at-idp".into(),
        client_secret: "idp-secret".into(),
    })
    .await;
    idp.set_consent_page(true);
    let browser = Browser::start().await;
    let c = &browser.client;
    sign_up_with_a_tenant(c, &app).await;

    // OpenID Connect: a first try without a client ID keeps everything but the secret, and
    // says so.
    new_connection(c, &app, "oidc").await;
    assert!(body_text(c).await.contains("New OpenID Connect connection"));
    fill(c, "#name", "idp").await;
    fill(c, "#display_name", "Acme SSO").await;
    fill(c, "#discovery_url", &idp.discovery_url()).await;
    fill(c, "#client_id", "acme-at-idp").await;
    fill(c, "#client_secret", "idp-secret").await;
    // The strategy's own fields, where the form's settings begin.
    let _ = c
        .execute(
            "document.querySelector('form.form').scrollIntoView(); document.activeElement.blur();",
            vec![],
        )
        .await;
    screenshot(c, "oidc-form.png").await;
    c.find(Locator::Css("#client_id"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    click(c, "form.form button[type=submit]").await;
    c.wait()
        .for_element(Locator::Css(".field-error"))
        .await
        .unwrap();
    let text = body_text(c).await;
    assert!(text.contains("Enter the client secret again"), "{text}");
    let kept = c
        .find(Locator::Css("#discovery_url"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some(idp.discovery_url().as_str()));
    fill(c, "#client_id", "acme-at-idp").await;
    fill(c, "#client_secret", "idp-secret").await;
    let oidc = create(c).await;

    let text = try_it(c, &app, &oidc).await;
    assert!(text.contains("It works!"), "{text}");
    assert!(text.contains("oidc|idp|248289761001"), "{text}");
    // Reloading the result: a page that says the Try is over, and leads back.
    c.refresh().await.unwrap();
    c.wait()
        .for_element(Locator::Css(".result.failed"))
        .await
        .unwrap();
    assert!(body_text(c).await.contains("This Try is over"));
    assert!(c
        .find(Locator::Css(".result .actions a.button.primary"))
        .await
        .is_ok());

    // OAuth2: the provider's endpoints and where the profile's id is.
    new_connection(c, &app, "oauth2").await;
    let i = idp.issuer();
    fill(c, "#name", "social").await;
    fill(c, "#authorizationURL", &format!("{i}/authorize")).await;
    fill(c, "#tokenURL", &format!("{i}/token")).await;
    fill(c, "#client_id", "acme-at-idp").await;
    fill(c, "#client_secret", "idp-secret").await;
    fill(c, "#scope", "openid").await;
    fill(c, "#profile_url", &format!("{i}/userinfo")).await;
    fill(c, "#map_user_id", "/sub").await;
    let social = create(c).await;
    let text = try_it(c, &app, &social).await;
    assert!(text.contains("It works!"), "{text}");
    assert!(text.contains("oauth2|social|248289761001"), "{text}");

    // A change to the OIDC connection, then the log: entries in words, saying who and what.
    c.goto(&app.admin_url(&oidc)).await.unwrap();
    fill(c, "#scope", "openid profile").await;
    click(c, "form.form button[type=submit]").await;
    c.wait().for_element(Locator::Css(".flash")).await.unwrap();
    c.goto(&app.admin_url("/tenants/acme/logs")).await.unwrap();
    let log = body_text(c).await;
    assert!(
        log.contains("Connection “idp” changed: options.scope"),
        "{log}"
    );
    assert!(
        log.contains("openid profile email → openid profile"),
        "{log}"
    );
    assert!(log.contains("Connection “social” created"), "{log}");
    assert!(log.contains("Login succeeded"), "{log}");
    assert!(
        !log.contains("connection_updated") && !log.contains("login_success"),
        "{log}"
    );
    assert!(log.contains(&format!("by admin:{EMAIL}")), "{log}");

    browser.stop().await;
    idp.stop().await;
}
