//! A client asking again for a management token gets its fresh one back, until its
//! configuration changes.

use gatehouse::services::Actor;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn a_client_asking_again_gets_its_fresh_token_back_until_its_configuration_changes() {
    let app = spawn_app().await;
    let tenant = app.create_tenant("reuse").await;
    for _ in 0..500 {
        if app.state.cache.is_live() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(app.state.cache.is_live(), "the node never started caching");
    let input = gatehouse::services::clients::ClientInput {
        name: Some("automation".into()),
        app_type: Some("non_interactive".into()),
        ..Default::default()
    };
    let (client, secret) = gatehouse::services::clients::create(
        &app.pool,
        tenant.tenant_id,
        &input,
        &Actor::named("test"),
    )
    .await
    .unwrap();
    let secret = secret.unwrap();
    let audience = format!("{}api/v2/", tenant.issuer);
    gatehouse::services::client_grants::create_grant(
        &app.pool,
        tenant.tenant_id,
        &client.client_id,
        &audience,
        &["read:connections".to_owned(), "read:users".to_owned()],
        &Actor::named("test"),
    )
    .await
    .unwrap();
    let ask = |scope: Option<&'static str>| {
        let mut form = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", client.client_id.clone()),
            ("client_secret", secret.clone()),
            ("audience", audience.clone()),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope.to_owned()));
        }
        let (http, url) = (app.http.clone(), app.tenant_url(&tenant, "/oauth/token"));
        async move {
            let res = http.post(url).form(&form).send().await.unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    let first = ask(None).await;
    let again = ask(None).await;
    assert_eq!(first["access_token"], again["access_token"]);
    assert_eq!(first["scope"], "read:connections read:users");
    let (first_left, again_left) = (
        first["expires_in"].as_i64().unwrap(),
        again["expires_in"].as_i64().unwrap(),
    );
    assert!(
        again_left <= first_left && again_left > first_left / 2,
        "{again_left} of {first_left} s left"
    );
    // Other scopes are another token, which opens the API for just those.
    let narrow = ask(Some("read:users")).await;
    assert_ne!(narrow["access_token"], first["access_token"]);
    assert_eq!(narrow["scope"], "read:users");
    let res = app
        .http
        .get(app.tenant_url(&tenant, "/api/v2/connections"))
        .bearer_auth(narrow["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // A change of the grant (made behind the node's back, as another node would) ends the
    // reuse: the next token carries the new scopes.
    app.execute_config_sql(&format!(
        "UPDATE client_grants SET scope = ARRAY['read:connections'] WHERE client_id = '{}'",
        client.client_id
    ))
    .await;
    let after = ask(None).await;
    assert_ne!(after["access_token"], first["access_token"]);
    assert_eq!(after["scope"], "read:connections");
    assert_eq!(after["expires_in"], 3600);
}
