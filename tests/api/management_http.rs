//! What the management API adds to Auth0 and how it answers bad HTTP: ETags with `If-Match`
//! (412) and `If-None-Match` (304), `Idempotency-Key` replays, bodies that are malformed, of
//! the wrong type or too large, unknown endpoints, and the OpenAPI document.

use reqwest::Method;
use serde_json::{json, Value};

use crate::management_support::*;

#[tokio::test]
async fn a_stale_if_match_is_412_and_the_current_etag_lets_the_change_through() {
    let api = Api::start().await;
    let id = api.create_connection("exact").await;
    let path = format!("/connections/{id}");
    let first = api.get(&path).await.header("etag").unwrap().to_owned();

    let fresh = api
        .send(
            api.request(Method::GET, &path)
                .header("If-None-Match", &first),
        )
        .await;
    assert_eq!(fresh.status, 304);

    let patch = |tag: &str, body: Value| {
        api.request(Method::PATCH, &path)
            .header("If-Match", tag)
            .json(&body)
    };
    let changed = api
        .send(patch(&first, json!({ "display_name": "One" })))
        .await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    let second = changed.header("etag").unwrap().to_owned();
    assert_ne!(first, second);

    let stale = api
        .send(patch(&first, json!({ "display_name": "Lost update" })))
        .await;
    assert_auth0_error(&stale, 412, "precondition_failed");
    assert_eq!(
        api.get(&path).await.body["display_name"],
        "One",
        "the stale write changed nothing"
    );
    let weak = api.send(patch(&format!("W/{second}"), json!({}))).await;
    assert_eq!(weak.status, 412, "weak tags never match for writes");
    let clients = api
        .request(Method::PATCH, &format!("{path}/clients"))
        .header("If-Match", &first)
        .json(&json!([{ "client_id": "x", "status": true }]));
    assert_eq!(api.send(clients).await.status, 412);

    let delete = |tag: &str| api.request(Method::DELETE, &path).header("If-Match", tag);
    assert_eq!(api.send(delete(&first)).await.status, 412);
    assert_eq!(api.send(delete(&second)).await.status, 204);
}

#[tokio::test]
async fn applications_and_grants_refuse_stale_etags_too() {
    let api = Api::start().await;
    let id = api.create_application("m2m", "non_interactive").await;
    let path = format!("/clients/{id}");
    let tag = api.get(&path).await.header("etag").unwrap().to_owned();
    api.patch(&path, json!({ "name": "renamed" })).await;
    let stale = api
        .request(Method::PATCH, &path)
        .header("If-Match", &tag)
        .json(&json!({ "name": "x" }));
    assert_auth0_error(&api.send(stale).await, 412, "precondition_failed");
    assert_eq!(
        api.send(api.request(Method::DELETE, &path).header("If-Match", &tag))
            .await
            .status,
        412
    );

    let audience = format!("{}api/v2/", api.tenant.issuer);
    let grant = api
        .post(
            "/client-grants",
            json!({ "client_id": id, "audience": audience, "scope": ["read:logs"] }),
        )
        .await;
    let grant_path = format!("/client-grants/{}", grant.body["id"].as_str().unwrap());
    let grant_tag = grant.header("etag").unwrap().to_owned();
    let changed = api
        .send(
            api.request(Method::PATCH, &grant_path)
                .header("If-Match", &grant_tag)
                .json(&json!({ "scope": ["read:users"] })),
        )
        .await;
    assert_eq!(changed.status, 200);
    let stale = api
        .request(Method::DELETE, &grant_path)
        .header("If-Match", &grant_tag);
    assert_eq!(api.send(stale).await.status, 412);
    let current = api
        .request(Method::DELETE, &grant_path)
        .header("If-Match", "*");
    assert_eq!(api.send(current).await.status, 204);
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_another_body() {
    let api = Api::start().await;
    let post = |key: &str, body: &str| {
        api.request(Method::POST, "/connections")
            .header("Idempotency-Key", key)
            .header("Content-Type", "application/json")
            .body(body.to_owned())
    };
    let body =
        r#"{"name":"exact","strategy":"exact","options":{"client_id":"a","client_secret":"b"}}"#;
    let first = api.send(post("key-1", body)).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    // The same document, formatted differently, is the same request.
    let reordered = r#"{ "strategy": "exact", "options": {"client_secret":"b","client_id":"a"}, "name": "exact" }"#;
    let replay = api.send(post("key-1", reordered)).await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.body, first.body);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.header("etag"), first.header("etag"));
    assert_eq!(
        api.get("/connections").await.body.as_array().unwrap().len(),
        1
    );

    let other = api
        .send(post(
            "key-1",
            &body.replace("exact\",\"strategy", "other\",\"strategy"),
        ))
        .await;
    assert_auth0_error(&other, 422, "idempotency_key_reused");

    // Errors are answers too: a conflict is replayed as a conflict.
    let conflict = api.send(post("key-2", body)).await;
    assert_auth0_error(&conflict, 409, "connection_conflict");
    assert_eq!(api.send(post("key-2", body)).await.body, conflict.body);

    let bad_key = api.send(post(&"k".repeat(256), body)).await;
    assert_auth0_error(&bad_key, 400, "invalid_idempotency_key");
}

#[tokio::test]
async fn requests_racing_with_one_idempotency_key_do_the_work_once_and_share_its_answer() {
    let api = Api::start().await;
    let post = || {
        api.request(Method::POST, "/clients")
            .header("Idempotency-Key", "race")
            .json(&serde_json::json!({"name": "raced", "app_type": "regular_web"}))
    };
    // The second claim of the key waits for the first request's transaction, then replays
    // what it committed (work and answer are one transaction).
    let answers = futures_util::future::join_all((0..6).map(|_| api.send(post()))).await;
    for a in &answers {
        assert_eq!(a.status, 201, "{:?}", a.body);
        assert_eq!(a.body["client_id"], answers[0].body["client_id"]);
        assert_eq!(a.body["client_secret"], answers[0].body["client_secret"]);
    }
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.header("idempotent-replayed").is_none())
            .count(),
        1,
        "one did the work"
    );
    let made = api.get("/clients").await;
    let raced = made
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "raced")
        .count();
    assert_eq!(raced, 1);
}

#[tokio::test]
async fn an_idempotent_create_replays_the_secret_without_storing_it_in_the_clear() {
    let api = Api::start().await;
    let create = || {
        api.request(Method::POST, "/clients")
            .header("Idempotency-Key", "create-m2m")
            .json(&json!({ "name": "m2m", "app_type": "non_interactive" }))
    };
    let first = api.send(create()).await;
    let secret = first.body["client_secret"].as_str().unwrap().to_owned();
    let replay = api.send(create()).await;
    assert_eq!(replay.body["client_secret"], json!(secret));
    assert_eq!(replay.body["client_id"], first.body["client_id"]);
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT response_body FROM idempotency_keys")
        .fetch_all(&api.app.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(
        !String::from_utf8_lossy(&stored[0]).contains(&secret),
        "the stored answer is sealed"
    );

    // Keys belong to the calling application: another one using the same key is not replayed.
    let other = api
        .app
        .management_token(&api.tenant, &["create:clients"])
        .await;
    let theirs = api
        .send(
            api.request_as(&other, Method::POST, "/clients")
                .header("Idempotency-Key", "create-m2m")
                .json(&json!({ "name": "m2m", "app_type": "non_interactive" })),
        )
        .await;
    assert_eq!(theirs.status, 201);
    assert_ne!(theirs.body["client_id"], first.body["client_id"]);
}

#[tokio::test]
async fn malformed_mistyped_and_oversized_bodies_get_auth0_errors_never_500() {
    let api = Api::start().await;
    let raw = |content_type: Option<&str>, body: Vec<u8>| {
        let mut req = api.request(Method::POST, "/connections").body(body);
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        req
    };
    let json_type = Some("application/json");
    let malformed = api.send(raw(json_type, b"{\"name\": ".to_vec())).await;
    assert_auth0_error(&malformed, 400, "invalid_json");
    let empty = api.send(raw(json_type, Vec::new())).await;
    assert_auth0_error(&empty, 400, "invalid_body");
    let deep = api
        .send(raw(
            json_type,
            format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
        ))
        .await;
    assert_auth0_error(&deep, 400, "invalid_json");
    let not_utf8 = api.send(raw(json_type, vec![b'"', 0xff, 0xfe, b'"'])).await;
    assert_auth0_error(&not_utf8, 400, "invalid_json");
    let text = api
        .send(raw(
            Some("text/plain"),
            exact_body("x").to_string().into_bytes(),
        ))
        .await;
    assert_auth0_error(&text, 415, "unsupported_media_type");
    let form = api
        .send(raw(
            Some("application/x-www-form-urlencoded"),
            b"name=x".to_vec(),
        ))
        .await;
    assert_auth0_error(&form, 415, "unsupported_media_type");
    let untyped = api
        .send(raw(None, exact_body("x").to_string().into_bytes()))
        .await;
    assert_auth0_error(&untyped, 415, "unsupported_media_type");

    let mut huge = exact_body("big");
    huge["display_name"] = json!("x".repeat(300 * 1024));
    let too_large = api.post("/connections", huge).await;
    assert_auth0_error(&too_large, 413, "payload_too_large");
    let patch = api
        .patch(
            "/connections/con_x",
            json!({ "metadata": { "a": "x".repeat(300 * 1024) } }),
        )
        .await;
    assert_auth0_error(&patch, 413, "payload_too_large");
    assert_eq!(api.get("/connections").await.body, json!([]));
}

#[tokio::test]
async fn unknown_endpoints_and_methods_answer_in_auth0_shape() {
    let api = Api::start().await;
    assert_auth0_error(&api.get("/nothing-here").await, 404, "not_found");
    let put = api
        .send(api.request(Method::PUT, "/connections").json(&json!({})))
        .await;
    assert_auth0_error(&put, 405, "method_not_allowed");
    assert_eq!(put.header("allow"), Some("GET, POST"));
}

#[tokio::test]
async fn the_openapi_document_is_served_without_a_token_and_names_every_endpoint() {
    let api = Api::start().await;
    let res = api
        .app
        .http
        .get(api.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.0"));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for path in [
        "/connections",
        "/connections/{id}",
        "/connections/{id}/clients",
        "/connections/{id}/status",
        "/clients",
        "/clients/{id}",
        "/clients/{id}/rotate-secret",
        "/client-grants",
        "/client-grants/{id}",
        "/users",
        "/users/{id}",
        "/logs",
        "/logs/{id}",
        "/keys/signing",
        "/keys/signing/{kid}",
        "/keys/signing/rotate",
        "/keys/signing/{kid}/revoke",
        "/stats/daily",
        "/stats/active-users",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is described");
    }
}
