//! `/api/v2/connections`: the Auth0 shape, validation, both paging styles, enabled clients
//! and status.

use serde_json::{json, Value};

use crate::management_support::*;

#[tokio::test]
async fn creating_a_connection_answers_201_in_auth0_shape_without_the_secret() {
    let api = Api::start().await;
    let web = api.create_application("web", "regular_web").await;
    let mut body = exact_body("exact-nl");
    body["display_name"] = json!("Exact Online NL");
    body["enabled_clients"] = json!([web]);
    body["metadata"] = json!({ "team": "finance" });
    let res = api.post("/connections", body).await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    let c = &res.body;
    assert!(c["id"].as_str().unwrap().starts_with("con_"));
    assert_eq!(c["name"], "exact-nl");
    assert_eq!(c["display_name"], "Exact Online NL");
    assert_eq!(c["strategy"], "exact");
    assert_eq!(c["options"]["client_id"], "exact-nl-id");
    assert!(c["options"].get("client_secret").is_none(), "{c}");
    assert!(!res.body.to_string().contains("exact-nl-secret"));
    assert_eq!(c["enabled_clients"], json!([web]));
    assert_eq!(c["is_domain_connection"], false);
    assert_eq!(c["realms"], json!(["exact-nl"]));
    assert_eq!(c["metadata"], json!({ "team": "finance" }));
    assert_eq!(c["show_as_button"], true);
    assert!(res.header("etag").is_some());
    let id = c["id"].as_str().unwrap();
    assert!(res
        .header("location")
        .unwrap()
        .ends_with(&format!("/api/v2/connections/{id}")));

    let again = api.get(&format!("/connections/{id}")).await;
    assert_eq!(again.status, 200);
    assert_eq!(&again.body, c);
    let only = api.get(&format!("/connections/{id}?fields=id,name")).await;
    assert_eq!(only.body, json!({ "id": id, "name": "exact-nl" }));
}

#[tokio::test]
async fn a_second_connection_with_the_same_name_is_a_409_conflict() {
    let api = Api::start().await;
    api.create_connection("exact").await;
    let res = api.post("/connections", exact_body("exact")).await;
    assert_auth0_error(&res, 409, "connection_conflict");
}

#[tokio::test]
async fn a_connection_is_changed_and_deleted_and_its_secret_survives_an_options_patch() {
    let api = Api::start().await;
    let id = api.create_connection("exact").await;
    let path = format!("/connections/{id}");
    let res = api
        .patch(
            &path,
            json!({ "display_name": "Exact", "options": { "client_id": "new-id", "profile": false }, "show_as_button": false }),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["display_name"], "Exact");
    assert_eq!(res.body["show_as_button"], false);
    // options replaced as a whole: the old values are gone, defaults are back.
    assert_eq!(res.body["options"]["client_id"], "new-id");
    assert_eq!(res.body["options"]["profile"], false);
    assert_eq!(res.body["name"], "exact");
    // The omitted write-only secret was kept, so the connection can still serve logins.
    assert_eq!(api.get(&format!("{path}/status")).await.status, 200);

    let cleared = api.patch(&path, json!({ "display_name": null })).await;
    assert!(
        cleared.body.get("display_name").is_none(),
        "{:?}",
        cleared.body
    );

    let renamed = api.patch(&path, json!({ "name": "other" })).await;
    assert_auth0_error(&renamed, 400, "invalid_body");
    assert!(renamed.body["message"].as_str().unwrap().contains("name"));

    assert_eq!(api.delete(&path).await.status, 204);
    assert_auth0_error(&api.get(&path).await, 404, "inexistent_connection");
    assert_auth0_error(&api.delete(&path).await, 404, "inexistent_connection");
    assert_auth0_error(
        &api.patch(&path, json!({})).await,
        404,
        "inexistent_connection",
    );
}

#[tokio::test]
async fn invalid_connections_are_refused_with_400_naming_the_field_and_rule() {
    let api = Api::start().await;
    let long = "x".repeat(300);
    let valid = |extra: Value| {
        let mut body = exact_body("x");
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "strategy": "exact", "options": {"client_id": "a", "client_secret": "b"} }),
            "name",
        ),
        (json!({ "name": "bad name!", "strategy": "exact" }), "name"),
        (json!({ "name": "a--b", "strategy": "exact" }), "name"),
        (
            json!({ "name": "x", "strategy": "saml", "options": {} }),
            "strategy",
        ),
        (
            json!({ "name": "x", "strategy": "exact", "options": {"client_secret": "b"} }),
            "options.client_id",
        ),
        (
            json!({ "name": "x", "strategy": "exact", "options": {"client_id": "a"} }),
            "options.client_secret",
        ),
        (
            json!({ "name": "x", "strategy": "exact", "options": {"client_id": "a", "client_secret": "b", "evil": 1} }),
            "options.evil",
        ),
        (
            json!({ "name": "x", "strategy": "exact", "options": {"client_id": "a", "client_secret": "b", "baseUrl": "ftp://x"} }),
            "options.baseUrl",
        ),
        (
            json!({ "name": "x", "strategy": "exact", "options": {"client_id": long, "client_secret": "b"} }),
            "options.client_id",
        ),
        (
            json!({ "name": "x", "strategy": "exact", "options": "none" }),
            "options",
        ),
        (json!({ "name": long, "strategy": "exact" }), "name"),
        (valid(json!({ "display_name": long })), "display_name"),
        (valid(json!({ "show_as_button": "yes" })), "show_as_button"),
        (
            valid(json!({ "enabled_clients": ["nope"] })),
            "enabled_clients[0]",
        ),
        (valid(json!({ "metadata": {"a": 1} })), "metadata"),
        (valid(json!({ "realms": [1] })), "realms[0]"),
        (valid(json!({ "unknown_thing": true })), "unknown_thing"),
        (json!(["not", "an", "object"]), "body"),
    ];
    for (body, field) in cases {
        let res = api.post("/connections", body.clone()).await;
        assert_auth0_error(&res, 400, "invalid_body");
        let message = res.body["message"].as_str().unwrap();
        assert!(message.contains(&format!("'{field}'")), "{body}: {message}");
    }
    assert_eq!(
        api.get("/connections").await.body,
        json!([]),
        "nothing was created"
    );
}

#[tokio::test]
async fn connections_page_by_offset_and_by_checkpoint_to_the_last_page() {
    let api = Api::start().await;
    let empty = api.get("/connections?include_totals=true").await;
    assert_eq!(
        empty.body,
        json!({ "start": 0, "limit": 50, "total": 0, "connections": [] })
    );
    assert_eq!(
        api.get("/connections?take=10").await.body,
        json!({ "connections": [] })
    );

    for name in ["c1", "c2", "c3", "c4", "c5"] {
        api.create_connection(name).await;
    }
    let page = api
        .get("/connections?page=1&per_page=2&include_totals=true")
        .await;
    assert_eq!(page.body["start"], 2);
    assert_eq!(page.body["limit"], 2);
    assert_eq!(page.body["total"], 5);
    let names: Vec<&str> = page.body["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c3", "c4"]);
    let last = api.get("/connections?page=2&per_page=2").await;
    assert_eq!(
        last.body.as_array().unwrap().len(),
        1,
        "a bare array without totals"
    );
    let beyond = api.get("/connections?page=9&per_page=2").await;
    assert_eq!(beyond.body, json!([]));

    let mut seen = Vec::new();
    let mut path = "/connections?take=2".to_owned();
    loop {
        let res = api.get(&path).await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        for c in res.body["connections"].as_array().unwrap() {
            seen.push(c["name"].as_str().unwrap().to_owned());
        }
        match res.body.get("next") {
            Some(next) => path = format!("/connections?take=2&from={}", next.as_str().unwrap()),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ["c1", "c2", "c3", "c4", "c5"]);

    let all = api.get("/connections?take=5").await;
    assert!(
        all.body.get("next").is_none(),
        "exactly a full last page has no next"
    );

    for bad in [
        "per_page=101",
        "per_page=0",
        "page=-1",
        "take=0",
        "include_totals=maybe",
        "take=2&page=1",
    ] {
        let res = api.get(&format!("/connections?{bad}")).await;
        assert_auth0_error(&res, 400, "invalid_query_string");
    }
}

#[tokio::test]
async fn connections_filter_by_strategy_and_name_and_select_fields() {
    let api = Api::start().await;
    api.create_connection("alpha").await;
    api.create_connection("beta").await;
    let by_name = api.get("/connections?name=beta").await;
    assert_eq!(by_name.body.as_array().unwrap().len(), 1);
    assert_eq!(by_name.body[0]["name"], "beta");
    let exact = api
        .get("/connections?strategy=exact&strategy=google-oauth2")
        .await;
    assert_eq!(exact.body.as_array().unwrap().len(), 2);
    let none = api.get("/connections?strategy=samlp").await;
    assert_eq!(none.body, json!([]));
    let trimmed = api
        .get("/connections?fields=options,enabled_clients&include_fields=false")
        .await;
    let first = trimmed.body[0].as_object().unwrap();
    assert!(
        first.contains_key("name")
            && !first.contains_key("options")
            && !first.contains_key("enabled_clients")
    );
}

#[tokio::test]
async fn enabled_clients_are_listed_by_checkpoint_and_changed_per_client() {
    let api = Api::start().await;
    let id = api.create_connection("exact").await;
    let a = api.create_application("a", "regular_web").await;
    let b = api.create_application("b", "spa").await;
    let path = format!("/connections/{id}/clients");
    let res = api
        .patch(
            &path,
            json!([{ "client_id": a, "status": true }, { "client_id": b, "status": true }]),
        )
        .await;
    assert_eq!(res.status, 204, "{:?}", res.body);
    let mut ids = vec![a.clone(), b.clone()];
    ids.sort();
    let first = api.get(&format!("{path}?take=1")).await;
    assert_eq!(first.body["clients"], json!([{ "client_id": ids[0] }]));
    let next = first.body["next"].as_str().unwrap();
    let second = api.get(&format!("{path}?take=1&from={next}")).await;
    assert_eq!(second.body, json!({ "clients": [{ "client_id": ids[1] }] }));
    let connection = api.get(&format!("/connections/{id}")).await;
    assert_eq!(connection.body["enabled_clients"], json!(ids));

    assert_eq!(
        api.patch(&path, json!([{ "client_id": a, "status": false }]))
            .await
            .status,
        204
    );
    assert_eq!(
        api.get(&path).await.body,
        json!({ "clients": [{ "client_id": b }] })
    );

    let too_many: Vec<Value> = (0..51)
        .map(|_| json!({ "client_id": a, "status": true }))
        .collect();
    let refusals = [
        (json!(too_many), "body"),
        (
            json!([{ "client_id": "nope", "status": true }]),
            "[0].client_id",
        ),
        (json!([{ "client_id": a }]), "[0].status"),
        (json!([{ "client_id": a, "status": "on" }]), "[0].status"),
        (json!([{ "client_id": a, "status": true, "x": 1 }]), "[0].x"),
        (json!({ "client_id": a }), "body"),
    ];
    for (body, field) in refusals {
        let res = api.patch(&path, body).await;
        assert_auth0_error(&res, 400, "invalid_body");
        assert!(
            res.body["message"]
                .as_str()
                .unwrap()
                .contains(&format!("'{field}'")),
            "{:?}",
            res.body
        );
    }
}

#[tokio::test]
async fn status_is_200_for_a_usable_connection_and_404_for_an_unknown_one() {
    let api = Api::start().await;
    let id = api.create_connection("exact").await;
    let res = api.get(&format!("/connections/{id}/status")).await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_auth0_error(
        &api.get("/connections/con_nope/status").await,
        404,
        "inexistent_connection",
    );
}

#[tokio::test]
async fn status_carries_the_connections_health() {
    use crate::helpers::location_params;
    use crate::login::{login, login_setup};
    use fake_exact::TokenMode;

    let s = login_setup().await;
    let id = gatehouse::db::connections::by_name(&s.app.pool, s.tenant.tenant_id, "exact")
        .await
        .unwrap()
        .unwrap()
        .connection_id;
    let token = s
        .app
        .management_token(&s.tenant, &["read:connections"])
        .await;
    let status = || async {
        let res = s
            .app
            .http
            .get(
                s.app
                    .tenant_url(&s.tenant, &format!("/api/v2/connections/{id}/status")),
            )
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json::<Value>().await.unwrap()
    };

    // No logins yet: zeros, no rate, no failure.
    let body = status().await;
    assert_eq!(body["status"], "ok");
    assert_eq!(body["id"], json!(id));
    let h = &body["health"];
    assert_eq!(
        h["last_day"],
        json!({ "succeeded": 0, "failed": 0, "abandoned": 0, "success_rate": null })
    );
    assert_eq!(h["failure_steps"], json!([]));
    assert!(h["last_failure"].is_null() && h["upstream_ms_p50"].is_null());

    for _ in 0..2 {
        login(&s, &s.web, &[]).await;
    }
    s.fake.set_token_mode(TokenMode::InvalidGrant);
    let failed = login(&s, &s.web, &[]).await;
    let description = location_params(&failed).1["error_description"].clone();

    let body = status().await;
    assert_eq!(body["status"], "ok");
    let h = &body["health"];
    for window in ["last_hour", "last_day"] {
        assert_eq!(h[window]["succeeded"], 2, "{h}");
        assert_eq!(h[window]["failed"], 1, "{h}");
        assert_eq!(h[window]["abandoned"], 0, "{h}");
        let rate = h[window]["success_rate"].as_f64().unwrap();
        assert!((rate - 2.0 / 3.0).abs() < 1e-9, "{rate}");
    }
    assert_eq!(
        h["failure_steps"],
        json!([{ "step": "upstream_token_exchange", "count": 1 }])
    );
    let p50 = h["upstream_ms_p50"].as_f64().unwrap();
    assert!(h["upstream_ms_p95"].as_f64().unwrap() >= p50);
    let last = &h["last_failure"];
    assert_eq!(last["step"], "upstream_token_exchange");
    assert_eq!(last["upstream_status"], 400);
    assert!(last["upstream_answer"]
        .as_str()
        .unwrap()
        .contains("invalid_grant"));
    let trace = last["trace_id"].as_str().unwrap();
    assert!(description.contains(trace), "{description} names {trace}");
    assert!(chrono::DateTime::parse_from_rfc3339(last["at"].as_str().unwrap()).is_ok());
    assert!(
        h["hints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|hint| hint.as_str().unwrap().contains("client secret")),
        "{h}"
    );
    // The connection's secret is never part of it.
    assert!(!body.to_string().contains("secret-"), "{body}");
    s.fake.stop().await;
}
