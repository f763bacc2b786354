//! Each endpoint demands its scope: without it, 403 `insufficient_scope`.

use serde_json::{json, Value};

use crate::management_support::*;

#[tokio::test]
async fn each_endpoint_demands_its_scope_with_403_insufficient_scope() {
    let api = Api::start().await;
    let con = api.create_connection("exact").await;
    let client = api.create_application("web", "regular_web").await;
    let cases: Vec<(&str, reqwest::Method, String, Option<Value>)> = vec![
        (
            "read:connections",
            reqwest::Method::GET,
            "/connections".into(),
            None,
        ),
        (
            "create:connections",
            reqwest::Method::POST,
            "/connections".into(),
            Some(exact_body("x")),
        ),
        (
            "read:connections",
            reqwest::Method::GET,
            format!("/connections/{con}"),
            None,
        ),
        (
            "update:connections",
            reqwest::Method::PATCH,
            format!("/connections/{con}"),
            Some(json!({})),
        ),
        (
            "delete:connections",
            reqwest::Method::DELETE,
            format!("/connections/{con}"),
            None,
        ),
        (
            "read:connections",
            reqwest::Method::GET,
            format!("/connections/{con}/clients"),
            None,
        ),
        (
            "update:connections",
            reqwest::Method::PATCH,
            format!("/connections/{con}/clients"),
            Some(json!([])),
        ),
        (
            "read:connections",
            reqwest::Method::GET,
            format!("/connections/{con}/status"),
            None,
        ),
        (
            "read:clients",
            reqwest::Method::GET,
            "/clients".into(),
            None,
        ),
        (
            "create:clients",
            reqwest::Method::POST,
            "/clients".into(),
            Some(json!({"name": "x"})),
        ),
        (
            "read:clients",
            reqwest::Method::GET,
            format!("/clients/{client}"),
            None,
        ),
        (
            "update:clients",
            reqwest::Method::PATCH,
            format!("/clients/{client}"),
            Some(json!({})),
        ),
        (
            "delete:clients",
            reqwest::Method::DELETE,
            format!("/clients/{client}"),
            None,
        ),
        (
            "update:client_keys",
            reqwest::Method::POST,
            format!("/clients/{client}/rotate-secret"),
            None,
        ),
        (
            "read:client_grants",
            reqwest::Method::GET,
            "/client-grants".into(),
            None,
        ),
        (
            "create:client_grants",
            reqwest::Method::POST,
            "/client-grants".into(),
            Some(json!({})),
        ),
        ("read:users", reqwest::Method::GET, "/users".into(), None),
        (
            "read:users",
            reqwest::Method::GET,
            "/users/exact%7C1".into(),
            None,
        ),
        (
            "update:users",
            reqwest::Method::PATCH,
            "/users/exact%7C1".into(),
            Some(json!({"blocked": true})),
        ),
        (
            "delete:users",
            reqwest::Method::DELETE,
            "/users/exact%7C1".into(),
            None,
        ),
        ("read:logs", reqwest::Method::GET, "/logs".into(), None),
        (
            "read:signing_keys",
            reqwest::Method::GET,
            "/keys/signing".into(),
            None,
        ),
        (
            "create:signing_keys",
            reqwest::Method::POST,
            "/keys/signing/rotate".into(),
            None,
        ),
        (
            "update:signing_keys",
            reqwest::Method::PUT,
            "/keys/signing/any/revoke".into(),
            None,
        ),
        (
            "read:stats",
            reqwest::Method::GET,
            "/stats/daily".into(),
            None,
        ),
        (
            "read:stats",
            reqwest::Method::GET,
            "/stats/active-users".into(),
            None,
        ),
    ];
    // A token with every scope but the one each endpoint needs.
    for (scope, method, path, body) in cases {
        let others: Vec<&str> = gatehouse::services::clients::MANAGEMENT_SCOPES
            .iter()
            .copied()
            .filter(|s| *s != scope)
            .collect();
        let token = api.app.management_token(&api.tenant, &others).await;
        let mut req = api.request_as(&token, method.clone(), &path);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = api.send(req).await;
        assert_auth0_error(&res, 403, "insufficient_scope");
        assert!(
            res.body["message"].as_str().unwrap().contains(scope),
            "{method} {path}: {:?}",
            res.body
        );
    }
}
