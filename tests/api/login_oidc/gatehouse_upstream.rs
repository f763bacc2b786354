//! A second Gatehouse tenant as the OpenID Connect upstream: tenant `idp` logs users in with
//! Exact and is, to tenant `acme`, just an OpenID Connect provider found by its issuer. The
//! whole chain runs over HTTP: acme → idp → fake Exact → idp → acme → the application.

use gatehouse::services::{self, Actor};
use serde_json::json;

use super::*;

#[tokio::test]
async fn a_gatehouse_tenant_is_an_oidc_upstream_of_another() {
    let app = spawn_app().await;
    let idp = app.create_tenant("idp").await;
    let acme = app.create_tenant("acme").await;
    let web = app.create_client(&acme, "regular_web").await;
    let fake = start_fake_exact().await;

    // At idp: an application whose callback is acme's, logging in with Exact.
    let (upstream_app, secret) = services::clients::create(
        &app.pool,
        idp.tenant_id,
        &services::clients::ClientInput {
            name: Some("acme's Gatehouse".into()),
            app_type: Some("regular_web".into()),
            callbacks: Some(vec![format!("{}login/callback", acme.issuer)]),
            ..Default::default()
        },
        &Actor::named("test"),
    )
    .await
    .unwrap();
    let upstream_app = TestClient {
        client_id: upstream_app.client_id,
        client_secret: secret.clone(),
        callback: format!("{}login/callback", acme.issuer),
    };
    app.create_exact_connection(&idp, "exact", &fake, &[&upstream_app])
        .await;

    // At acme: idp as an OpenID Connect provider, by its issuer alone.
    connect(
        &app,
        &acme,
        &web,
        "oidc",
        "idp",
        json!({"client_id": upstream_app.client_id, "client_secret": secret.unwrap(), "issuer": idp.issuer,
            "upstream_params": {"connection": {"value": "exact"}}}),
    )
    .await;

    let to_idp = authorize(&app, &acme, &web, "idp").await;
    assert!(
        to_idp.starts_with(&format!("{}authorize?", idp.issuer)),
        "{to_idp}"
    );
    let to_exact = app.http.get(&to_idp).send().await.unwrap();
    assert_eq!(
        to_exact.status(),
        302,
        "{}",
        to_exact.text().await.unwrap_or_default()
    );
    let exact_back = app
        .http
        .get(to_exact.headers()["location"].to_str().unwrap())
        .send()
        .await
        .unwrap();
    let idp_callback = exact_back.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let to_acme = app.http.get(&idp_callback).send().await.unwrap();
    let acme_callback = to_acme.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        acme_callback.starts_with(&format!("{}login/callback", acme.issuer)),
        "{acme_callback}"
    );
    let res = app.http.get(&acme_callback).send().await.unwrap();
    let (location, params) = location_params(&res);
    assert!(location.starts_with(&web.callback), "{location} {params:?}");
    let body = redeem(&app, &acme, &web, &params["code"]).await;
    assert!(body["id_token"].is_string());

    // At acme the user is idp's user, whose id there is Exact's.
    let user_id: String = sqlx::query_scalar("SELECT user_id FROM users WHERE tenant_id = $1")
        .bind(acme.tenant_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        user_id,
        "oidc|idp|exact|b0b2c3d4-0000-4000-8000-000000000001"
    );
}
