//! An Exact connection set up from the dashboard, and its "Try": a login that works, a failed
//! step with what Exact answered, and a profile from Exact shown escaped.

use fake_exact::{FakeApp, FakeUser, TokenMode};

use super::*;
use crate::helpers::*;

#[tokio::test]
async fn dashboard_sets_up_an_exact_connection_and_try_works() {
    let app = spawn_app().await;
    let fake = start_fake_exact().await;
    let dash = operator(&app).await;

    // Tenant.
    let res = dash
        .submit(
            "/tenants/new",
            "/tenants",
            &[
                ("slug", "acme"),
                ("display_name", "Acme Inc."),
                ("domains", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/tenants/acme");
    let list = dash.page("/tenants").await;
    assert!(
        list.contains("Acme Inc.") && list.contains(&format!("http://acme.{}/", app.base_domain))
    );
    let tenant = TestTenant {
        tenant_id: gatehouse::db::tenants::by_slug(&app.pool, "acme")
            .await
            .unwrap()
            .unwrap()
            .tenant_id,
        slug: "acme".into(),
        host: format!("acme.{}", app.base_domain),
        issuer: format!("http://acme.{}/", app.base_domain),
    };

    // Application: the secret is shown once.
    let res = dash
        .submit(
            "/tenants/acme/applications/new",
            "/tenants/acme/applications",
            &[
                ("name", "Web shop"),
                ("app_type", "regular_web"),
                ("callbacks", "https://shop.example.com/callback"),
                ("logout_urls", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 201);
    let shown = res.text().await.unwrap();
    assert!(shown.contains("Copy the client secret now"));
    let clients = gatehouse::db::clients::page(&app.pool, tenant.tenant_id, 0, 10)
        .await
        .unwrap();
    let client_id = clients[0].client_id.clone();
    let app_page = dash
        .page(&format!("/tenants/acme/applications/{client_id}"))
        .await;
    assert!(app_page.contains(&client_id));
    assert!(
        !app_page.contains("id=\"client-secret\""),
        "the secret is never shown again"
    );

    // Connection, with a validation error first: the typed values survive.
    let form = "/tenants/acme/connections/new?preset=exact";
    let new_page = dash.page(form).await;
    assert!(new_page.contains(&format!("http://acme.{}/login/callback", app.base_domain)));
    assert!(
        new_page.contains("only <strong>https</strong>"),
        "http tenants are told Exact needs https"
    );
    let res = dash
        .submit(
            form,
            "/tenants/acme/connections",
            &[
                ("preset", "exact"),
                ("name", "exact"),
                ("display_name", "Exact Online"),
                ("client_id", "my-exact-app"),
                ("client_secret", "my-exact-secret"),
                ("site", "custom"),
                ("custom_url", "ftp://nope"),
                ("profile", "on"),
                ("set_user_root_attributes", "on_each_login"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("must be an https URL"), "{body}");
    assert!(body.contains("value=\"my-exact-app\""));
    assert!(!body.contains("my-exact-secret"));
    // The secret is not sent back, and the page says so instead of emptying it silently.
    assert!(body.contains("Enter the client secret again"), "{body}");

    fake.add_app(FakeApp {
        client_id: "my-exact-app".into(),
        client_secret: "my-exact-secret".into(),
        redirect_uris: vec![],
    });
    let res = dash
        .submit(
            form,
            "/tenants/acme/connections",
            &[
                ("preset", "exact"),
                ("name", "exact"),
                ("display_name", "Exact Online"),
                ("client_id", "my-exact-app"),
                ("client_secret", "my-exact-secret"),
                // A typed custom URL wins over the site the list still shows: the Try below
                // reaches the fake Exact only through it.
                ("site", "https://start.exactonline.nl"),
                ("custom_url", &fake.base_url()),
                ("profile", "on"),
                ("set_user_root_attributes", "on_each_login"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let apps_tab = location(&res);
    let connection_id = apps_tab.split('/').nth(4).unwrap().to_owned();
    assert!(apps_tab.ends_with("/applications"));

    // Enable it for the application.
    let res = dash
        .submit(
            &apps_tab,
            &apps_tab,
            &[("client_id", &client_id), ("enabled", "true")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let enabled =
        gatehouse::db::connections::enabled_clients(&app.pool, tenant.tenant_id, &connection_id)
            .await
            .unwrap();
    assert_eq!(enabled, vec![client_id.clone()]);
    assert!(dash.page(&apps_tab).await.contains("Enabled"));

    // Saving with an empty secret keeps the stored one.
    let settings = format!("/tenants/acme/connections/{connection_id}");
    let edit = dash.page(&settings).await;
    assert!(edit.contains("A secret is set"));
    let version = gatehouse::db::connections::by_id(&app.pool, tenant.tenant_id, &connection_id)
        .await
        .unwrap()
        .unwrap()
        .version
        .to_string();
    let res = dash
        .submit(
            &settings,
            &settings,
            &[
                ("display_name", "Exact"),
                ("client_id", "my-exact-app"),
                ("client_secret", ""),
                ("site", "custom"),
                ("custom_url", &fake.base_url()),
                ("profile", "on"),
                ("set_user_root_attributes", "on_first_login"),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );

    // Try.
    let res = try_login(&app, &dash, &tenant, &connection_id).await;
    assert_eq!(res.status(), 200);
    let result_url = res.url().clone();
    let body = res.text().await.unwrap();
    assert!(body.contains("It works!"), "{body}");
    assert!(body.contains("Jan de Vries"));
    // Reloading the result asks for the spent Try again: a dashboard page with a way back,
    // not a bare error card.
    let reloaded = dash.http.get(result_url).send().await.unwrap();
    assert_eq!(reloaded.status(), 400);
    let page = reloaded.text().await.unwrap();
    assert!(page.contains("This Try is over"), "{page}");
    assert!(page.contains(r#"href="/tenants""#), "{page}");
    assert!(body.contains("exact|b0b2c3d4-0000-4000-8000-000000000001"));
    assert!(
        body.contains("CurrentDivision") || body.contains("123456"),
        "profileData shown"
    );

    let users = dash
        .page("/tenants/acme/users?email=jan%40example.nl")
        .await;
    assert!(users.contains("Jan de Vries"));
    let none = dash
        .page("/tenants/acme/users?email=nobody%40example.nl")
        .await;
    assert!(!none.contains("Jan de Vries"));
    let detail = dash
        .page("/tenants/acme/users/view?id=exact%7Cb0b2c3d4-0000-4000-8000-000000000001")
        .await;
    assert!(detail.contains("jan@example.nl") && detail.contains("CurrentDivision"));
    let logs = dash.page("/tenants/acme/logs?type=login_success").await;
    // Kinds read as words; the code is the tag's title.
    assert!(
        logs.contains("title=\"login_success\">Login succeeded<"),
        "{logs}"
    );
    assert!(!logs.contains("title=\"connection_created\""));
    let all_logs = dash.page("/tenants/acme/logs").await;
    assert!(
        all_logs.contains(">Connection created<") && all_logs.contains(">Application created<")
    );
    assert!(
        all_logs.contains("Connection “exact” created"),
        "{all_logs}"
    );

    // The overview's activity counts the Try's login and Jan's signup, today.
    let overview = dash.page("/tenants/acme").await;
    assert!(
        overview.contains("<strong>1</strong> active user in the last 30 days"),
        "{overview}"
    );
    assert!(overview
        .contains("<strong>1</strong> login and <strong>1</strong> signup in the last 14 days"));
    assert_eq!(overview.matches("<meter ").count(), 14);
    assert!(overview.contains(r#"<meter min="0" max="1" value="1">"#));
    fake.stop().await;
}

#[tokio::test]
async fn dashboard_try_shows_the_failed_step_and_what_exact_answered() {
    let app = spawn_app().await;
    let fake = start_fake_exact().await;
    let tenant = app.create_tenant("acme").await;
    let connection_id = connection_with_secret(&app, &tenant, &fake, "known-secret").await;
    let dash = operator(&app).await;
    fake.set_token_mode(TokenMode::InvalidGrant);
    let res = try_login(&app, &dash, &tenant, &connection_id).await;
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(body.contains("The login did not work"), "{body}");
    assert!(body.contains("upstream_token_exchange"), "{body}");
    assert!(body.contains("HTTP 400"), "{body}");
    assert!(body.contains("invalid_grant"), "{body}");
    assert!(!body.contains("known-secret"));
    let logs = dash.page("/tenants/acme/logs?type=login_failure").await;
    assert!(logs.contains("upstream_token_exchange") && logs.contains("invalid_grant"));
    fake.stop().await;
}

#[tokio::test]
async fn dashboard_escapes_profile_html_from_exact() {
    let app = spawn_app().await;
    let fake = start_fake_exact().await;
    let tenant = app.create_tenant("acme").await;
    let connection_id = connection_with_secret(&app, &tenant, &fake, "known-secret").await;
    fake.set_user(FakeUser {
        full_name: Some("<script>alert(1)</script>".into()),
        email: Some("x\"><img src=x onerror=alert(2)>@example.nl".into()),
        ..FakeUser::jan()
    });
    let dash = operator(&app).await;
    let res = try_login(&app, &dash, &tenant, &connection_id).await;
    let body = res.text().await.unwrap();
    assert!(body.contains("It works!"), "{body}");
    let user = "/tenants/acme/users/view?id=exact%7Cb0b2c3d4-0000-4000-8000-000000000001";
    for page in [
        body,
        dash.page("/tenants/acme/users").await,
        dash.page(user).await,
        dash.page("/tenants/acme/logs").await,
    ] {
        assert!(!page.contains("<script>alert(1)"), "{page}");
        assert!(!page.contains("<img src=x"), "{page}");
    }
    let escaped = dash.page(user).await;
    assert!(
        escaped.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || escaped.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{escaped}"
    );
    fake.stop().await;
}
