//! Changes made through the management API take effect on the very next login: no restart,
//! no stale copy anywhere.

use fake_exact::FakeApp;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::login::{authorize, login, LoginSetup};

#[tokio::test]
async fn a_connection_changed_through_the_api_takes_effect_on_the_very_next_login() {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let web = app.create_client(&tenant, "regular_web").await;
    let spa = app.create_client(&tenant, "spa").await;
    let token = app
        .management_token(&tenant, &["create:connections", "update:connections"])
        .await;
    let callback = format!("{}login/callback", tenant.issuer);
    let (first, second) = (start_fake_exact().await, start_fake_exact().await);
    first.add_app(FakeApp {
        client_id: "first-app".into(),
        client_secret: "s3cret".into(),
        redirect_uris: vec![callback.clone()],
    });
    second.add_app(FakeApp {
        client_id: "second-app".into(),
        client_secret: "s3cret".into(),
        redirect_uris: vec![callback],
    });
    let api_url = app.tenant_url(&tenant, "/api/v2/connections");
    let created: Value = app.http.post(&api_url).bearer_auth(&token)
        .json(&json!({ "name": "exact", "strategy": "exact", "enabled_clients": [web.client_id, spa.client_id],
                       "options": { "client_id": "first-app", "client_secret": "s3cret", "baseUrl": first.base_url() } }))
        .send().await.unwrap().json().await.unwrap();
    let s = LoginSetup {
        app,
        tenant,
        web,
        spa,
        fake: first,
    };
    let res = login(&s, &s.web, &[]).await;
    assert!(
        location_params(&res).1.contains_key("code"),
        "the first login works"
    );

    let patched = s
        .app
        .http
        .patch(format!("{api_url}/{}", created["id"].as_str().unwrap()))
        .bearer_auth(&token)
        .json(&json!({ "options": { "client_id": "second-app", "baseUrl": second.base_url() } }))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);

    let res = authorize(&s, &s.web, &[]).await;
    let (to_exact, params) = location_params(&res);
    assert!(to_exact.starts_with(&second.base_url()), "{to_exact}");
    assert_eq!(params["client_id"], "second-app");
    let res = s.app.http.get(&to_exact).send().await.unwrap();
    let back = res.headers()["location"].to_str().unwrap().to_owned();
    let res = s.app.http.get(&back).send().await.unwrap();
    let (location, params) = location_params(&res);
    assert!(
        location.starts_with(&s.web.callback) && params.contains_key("code"),
        "{location}"
    );
    let exchanged = second.token_requests();
    assert_eq!(exchanged.len(), 1);
    assert_eq!(exchanged[0].form["client_id"], "second-app");
    assert_eq!(
        exchanged[0].form["client_secret"], "s3cret",
        "the omitted secret was kept"
    );
    assert_eq!(
        s.fake.token_requests().len(),
        1,
        "the old upstream saw only the first login"
    );
}
