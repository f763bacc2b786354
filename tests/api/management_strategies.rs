//! `/api/v2/connections` for every strategy: `oidc` and `oauth2` connections in Auth0's option
//! shapes, their secrets write-only, the `strategy` filter, and options refused field by field
//! with Auth0-style errors naming the field.

use serde_json::{json, Value};

use crate::management_support::*;

fn oidc_body(name: &str) -> Value {
    json!({
        "name": name,
        "strategy": "oidc",
        "options": {
            "client_id": "entra-app",
            "client_secret": "entra-secret-Vb7",
            "discovery_url": "https://login.microsoftonline.com/0000/v2.0/.well-known/openid-configuration",
            "type": "back_channel",
            "scope": "openid profile email",
            "attribute_map": {"mapping_mode": "use_map", "attributes": {"nickname": "${context.tokenset.preferred_username}"}},
            "upstream_params": {"prompt": {"value": "select_account"}},
        },
    })
}

fn oauth2_body(name: &str) -> Value {
    json!({
        "name": name,
        "strategy": "oauth2",
        "options": {
            "client_id": "gh-app", "client_secret": "gh-secret-Q2",
            "authorizationURL": "https://github.com/login/oauth/authorize",
            "tokenURL": "https://github.com/login/oauth/access_token",
            "profile_url": "https://api.github.com/user",
            "scope": ["read:user", "user:email"],
            "customHeaders": {"Accept": "application/json"},
            "profile_map": {"user_id": "/id", "email": "/email", "name": "/name", "picture": "/avatar_url"},
        },
    })
}

#[tokio::test]
async fn oidc_and_oauth2_connections_round_trip_without_their_secrets() {
    let api = Api::start().await;
    api.create_connection("exact").await;
    for (body, secret) in [
        (oidc_body("entra"), "entra-secret-Vb7"),
        (oauth2_body("github"), "gh-secret-Q2"),
    ] {
        let res = api.post("/connections", body.clone()).await;
        assert_eq!(res.status, 201, "{:?}", res.body);
        assert!(!res.body.to_string().contains(secret));
        assert_eq!(res.body["strategy"], body["strategy"]);
        let id = res.body["id"].as_str().unwrap().to_owned();
        // A PATCH of the options without the secret keeps it; the change is logged by field.
        let mut options = res.body["options"].clone();
        options["client_id"] = json!("renamed-app");
        let patched = api
            .patch(&format!("/connections/{id}"), json!({"options": options}))
            .await;
        assert_eq!(patched.status, 200, "{:?}", patched.body);
        assert_eq!(patched.body["options"]["client_id"], "renamed-app");
        let sealed: Option<String> = sqlx::query_scalar(
            "SELECT client_secret_sealed FROM connections WHERE connection_id = $1",
        )
        .bind(&id)
        .fetch_one(&api.app.pool)
        .await
        .unwrap();
        assert!(sealed.is_some_and(|s| !s.contains(secret)));
        let (description, details): (String, Value) = sqlx::query_as(
            "SELECT description, details FROM events WHERE type = 'connection_updated' ORDER BY at DESC LIMIT 1",
        )
        .fetch_one(&api.app.pool)
        .await
        .unwrap();
        assert!(description.contains("options.client_id"), "{description}");
        assert_eq!(details["changes"][0]["to"], "renamed-app", "{details}");
        assert!(!details.to_string().contains(secret));
    }
    let oidc_only = api.get("/connections?strategy=oidc").await;
    let names: Vec<&str> = oidc_only
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["entra"]);
    let both = api.get("/connections?strategy=oidc&strategy=oauth2").await;
    assert_eq!(both.body.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_replaced_secret_is_logged_as_replaced_and_never_shown() {
    let api = Api::start().await;
    let res = api.post("/connections", oidc_body("entra")).await;
    let id = res.body["id"].as_str().unwrap().to_owned();
    let mut options = res.body["options"].clone();
    options["client_secret"] = json!("brand-new-secret-77");
    let patched = api
        .patch(&format!("/connections/{id}"), json!({"options": options}))
        .await;
    assert_eq!(patched.status, 200);
    let details: Value = sqlx::query_scalar(
        "SELECT details FROM events WHERE type = 'connection_updated' ORDER BY at DESC LIMIT 1",
    )
    .fetch_one(&api.app.pool)
    .await
    .unwrap();
    assert!(details["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["field"] == "client_secret" && c["to"] == "[replaced]"));
    assert!(!details.to_string().contains("brand-new-secret-77"));
}

#[tokio::test]
async fn strategy_options_are_refused_field_by_field() {
    let api = Api::start().await;
    let with = |mut body: Value, edit: &dyn Fn(&mut Value)| {
        edit(&mut body["options"]);
        body
    };
    for (body, field) in [
        (
            with(oidc_body("a"), &|o| o["surprise"] = json!(true)),
            "options.surprise",
        ),
        (
            with(oidc_body("b"), &|o| {
                o.as_object_mut().unwrap().remove("client_id");
            }),
            "options.client_id",
        ),
        (
            with(oidc_body("c"), &|o| {
                o["discovery_url"] =
                    json!("http://idp.example.com/.well-known/openid-configuration")
            }),
            "options.discovery_url",
        ),
        (
            with(oidc_body("d"), &|o| o["type"] = json!("front_channel")),
            "options.type",
        ),
        (
            with(oauth2_body("e"), &|o| {
                o["profile_map"]["user_id"] = json!("id")
            }),
            "options.profile_map.user_id",
        ),
        (
            with(oauth2_body("f"), &|o| {
                o["fetchUserProfile"] = json!("function(a,c,cb){}")
            }),
            "options.fetchUserProfile",
        ),
        (
            with(oauth2_body("g"), &|o| {
                o["tokenURL"] = json!("http://10.0.0.5/token")
            }),
            "options.tokenURL",
        ),
    ] {
        let res = api.post("/connections", body.clone()).await;
        assert_eq!(res.status, 400, "{body}: {:?}", res.body);
        let message = res.body["message"].as_str().unwrap();
        assert!(message.contains(field), "{field}: {message}");
    }
    assert_eq!(
        api.get("/connections").await.body,
        json!([]),
        "nothing half-written"
    );
}
