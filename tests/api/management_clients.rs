//! `/api/v2/clients` and `/api/v2/client-grants`: applications with their secret shown only
//! when made, both paging styles, rotation, and the grants that make management tokens.

use serde_json::{json, Value};

use crate::management_support::*;

/// `client_credentials` at the tenant's token endpoint for its management API.
async fn client_credentials(api: &Api, client_id: &str, secret: &str) -> reqwest::Response {
    api.app
        .http
        .post(api.app.tenant_url(&api.tenant, "/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("audience", &format!("{}api/v2/", api.tenant.issuer)),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_machine_client_made_and_granted_through_the_api_can_call_the_api() {
    let api = Api::start().await;
    let res = api
        .post("/clients", json!({ "name": "Billing sync", "app_type": "non_interactive", "description": "nightly" }))
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    let client_id = res.body["client_id"].as_str().unwrap().to_owned();
    let secret = res.body["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(res.body["grant_types"], json!(["client_credentials"]));
    assert_eq!(res.body["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(res.body["description"], "nightly");

    let shown = api.get(&format!("/clients/{client_id}")).await;
    assert_eq!(shown.status, 200);
    assert!(
        shown.body.get("client_secret").is_none(),
        "the secret is shown only once"
    );
    assert!(!shown.body.to_string().contains(&secret));

    let audience = format!("{}api/v2/", api.tenant.issuer);
    let grant = api
        .post(
            "/client-grants",
            json!({ "client_id": client_id, "audience": audience, "scope": ["read:clients"] }),
        )
        .await;
    assert_eq!(grant.status, 201, "{:?}", grant.body);
    assert!(grant.body["id"].as_str().unwrap().starts_with("cgr_"));
    assert_eq!(grant.body["scope"], json!(["read:clients"]));

    let token: Value = client_credentials(&api, &client_id, &secret)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(token["scope"], "read:clients");
    let token = token["access_token"].as_str().unwrap();
    let listed = api
        .send(api.request_as(token, reqwest::Method::GET, "/clients"))
        .await;
    assert_eq!(listed.status, 200);
    let denied = api
        .send(api.request_as(token, reqwest::Method::GET, "/connections"))
        .await;
    assert_auth0_error(&denied, 403, "insufficient_scope");
}

#[tokio::test]
async fn rotating_a_secret_shows_the_new_one_once_and_the_old_one_stops_working() {
    let api = Api::start().await;
    let created = api
        .post(
            "/clients",
            json!({ "name": "m2m", "app_type": "non_interactive" }),
        )
        .await;
    let client_id = created.body["client_id"].as_str().unwrap();
    let old = created.body["client_secret"].as_str().unwrap();
    let audience = format!("{}api/v2/", api.tenant.issuer);
    api.post(
        "/client-grants",
        json!({ "client_id": client_id, "audience": audience, "scope": ["read:logs"] }),
    )
    .await;

    let rotated = api
        .post(&format!("/clients/{client_id}/rotate-secret"), Value::Null)
        .await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    let new = rotated.body["client_secret"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(client_credentials(&api, client_id, old).await.status(), 401);
    assert_eq!(client_credentials(&api, client_id, new).await.status(), 200);
    let missing = api.post("/clients/nope/rotate-secret", Value::Null).await;
    assert_auth0_error(&missing, 404, "inexistent_client");
}

#[tokio::test]
async fn an_application_is_changed_validated_and_deleted() {
    let api = Api::start().await;
    let id = api.create_application("web", "regular_web").await;
    let path = format!("/clients/{id}");
    let res = api
        .patch(&path, json!({ "name": "Web shop", "callbacks": ["https://shop.example.com/cb"], "is_first_party": false }))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["name"], "Web shop");
    assert_eq!(
        res.body["callbacks"],
        json!(["https://shop.example.com/cb"])
    );
    assert_eq!(res.body["is_first_party"], false);
    assert_eq!(
        res.body["app_type"], "regular_web",
        "unchanged fields are kept"
    );

    let long = "x".repeat(200);
    for (body, field) in [
        (
            json!({ "callbacks": ["javascript:alert(1)"] }),
            "callbacks[0]",
        ),
        (json!({ "app_type": "mainframe" }), "app_type"),
        (json!({ "grant_types": ["password"] }), "grant_types"),
        (json!({ "name": long }), "name"),
        (json!({ "client_secret": "mine" }), "client_secret"),
        (
            json!({ "jwt_configuration": {"alg": "HS256"} }),
            "jwt_configuration.alg",
        ),
        (json!({ "callbacks": "https://x.example" }), "callbacks"),
    ] {
        let res = api.patch(&path, body.clone()).await;
        assert_auth0_error(&res, 400, "invalid_body");
        assert!(
            res.body["message"]
                .as_str()
                .unwrap()
                .contains(&format!("'{field}'")),
            "{body}: {:?}",
            res.body
        );
    }
    let missing_name = api.post("/clients", json!({ "app_type": "spa" })).await;
    assert_auth0_error(&missing_name, 400, "invalid_body");

    assert_eq!(api.delete(&path).await.status, 204);
    assert_auth0_error(&api.get(&path).await, 404, "inexistent_client");
}

#[tokio::test]
async fn applications_page_by_offset_and_checkpoint_and_the_tester_client_stays_hidden() {
    let api = Api::start().await;
    // The management client of Api::start is the first application.
    for name in ["a", "b", "c", "d"] {
        api.create_application(name, "spa").await;
    }
    let page = api
        .get("/clients?page=2&per_page=2&include_totals=true")
        .await;
    assert_eq!(page.body["total"], 5);
    assert_eq!(page.body["start"], 4);
    assert_eq!(
        page.body["clients"].as_array().unwrap().len(),
        1,
        "the last page"
    );
    assert_eq!(
        api.get("/clients?per_page=2")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let mut seen = 0;
    let mut path = "/clients?take=2".to_owned();
    loop {
        let res = api.get(&path).await;
        seen += res.body["clients"].as_array().unwrap().len();
        match res.body.get("next").and_then(Value::as_str) {
            Some(next) => path = format!("/clients?take=2&from={next}"),
            None => break,
        }
    }
    assert_eq!(seen, 5);

    let tester = gatehouse::db::clients::tester(&api.app.pool, api.tenant.tenant_id)
        .await
        .unwrap()
        .unwrap();
    let listed = api.get("/clients?per_page=100").await.body.to_string();
    assert!(!listed.contains(&tester.client_id));
    let path = format!("/clients/{}", tester.client_id);
    assert_auth0_error(&api.get(&path).await, 404, "inexistent_client");
    assert_auth0_error(&api.delete(&path).await, 404, "inexistent_client");
}

#[tokio::test]
async fn client_grants_are_listed_changed_and_deleted_and_validated() {
    let api = Api::start().await;
    let m2m = api.create_application("m2m", "non_interactive").await;
    let spa = api.create_application("spa", "spa").await;
    let audience = format!("{}api/v2/", api.tenant.issuer);
    let body = |client: &str, audience: &str, scope: Value| json!({ "client_id": client, "audience": audience, "scope": scope });

    for (req, field) in [
        (
            body(&m2m, "https://other.example/api/", json!(["read:users"])),
            "audience",
        ),
        (body(&m2m, &audience, json!(["read:everything"])), "scope"),
        (body(&spa, &audience, json!(["read:users"])), "client_id"),
        (body("nope", &audience, json!(["read:users"])), "client_id"),
        (json!({ "client_id": m2m, "audience": audience }), "scope"),
        (
            json!({ "client_id": m2m, "audience": audience, "scope": "read:users" }),
            "scope",
        ),
    ] {
        let res = api.post("/client-grants", req.clone()).await;
        assert_auth0_error(&res, 400, "invalid_body");
        assert!(
            res.body["message"]
                .as_str()
                .unwrap()
                .contains(&format!("'{field}'")),
            "{req}: {:?}",
            res.body
        );
    }

    let created = api
        .post(
            "/client-grants",
            body(&m2m, &audience, json!(["read:users"])),
        )
        .await;
    assert_eq!(created.status, 201);
    let id = created.body["id"].as_str().unwrap();
    let duplicate = api
        .post(
            "/client-grants",
            body(&m2m, &audience, json!(["read:logs"])),
        )
        .await;
    assert_auth0_error(&duplicate, 409, "client_grant_conflict");

    let mine = api
        .get(&format!(
            "/client-grants?client_id={m2m}&include_totals=true"
        ))
        .await;
    assert_eq!(mine.body["total"], 1);
    assert_eq!(mine.body["client_grants"][0]["id"], json!(id));
    assert_eq!(
        api.get("/client-grants")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2,
        "with the API's own"
    );

    let path = format!("/client-grants/{id}");
    let changed = api
        .patch(&path, json!({ "scope": ["read:users", "delete:users"] }))
        .await;
    assert_eq!(changed.body["scope"], json!(["read:users", "delete:users"]));
    assert_eq!(api.get(&path).await.body, changed.body);
    let bad = api.patch(&path, json!({ "scope": ["root"] })).await;
    assert_auth0_error(&bad, 400, "invalid_body");
    assert_eq!(api.delete(&path).await.status, 204);
    assert_auth0_error(&api.get(&path).await, 404, "inexistent_client_grant");
}

#[tokio::test]
async fn client_grants_are_read_from_a_checkpoint_each_once() {
    let api = Api::start().await;
    let audience = format!("{}api/v2/", api.tenant.issuer);
    for n in 0..4 {
        let client = api
            .create_application(&format!("m2m-{n}"), "non_interactive")
            .await;
        let grant = api
            .post(
                "/client-grants",
                json!({ "client_id": client, "audience": audience, "scope": ["read:users"] }),
            )
            .await;
        assert_eq!(grant.status, 201, "{:?}", grant.body);
    }
    let every = api.get("/client-grants?per_page=100").await;
    let mut expected: Vec<String> = every
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(expected.len(), 5, "the four and the API's own");
    expected.sort();

    // Auth0's checkpoint paging of client grants: `take`, then `from` the previous `next`.
    let mut read = Vec::new();
    let mut path = "/client-grants?take=2".to_owned();
    loop {
        let page = api.get(&path).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        for g in page.body["client_grants"].as_array().unwrap() {
            read.push(g["id"].as_str().unwrap().to_owned());
        }
        match page.body["next"].as_str() {
            Some(next) => path = format!("/client-grants?take=2&from={next}"),
            None => break,
        }
    }
    assert_eq!(
        read, expected,
        "each once, by id, and no next on the last page"
    );

    let one = api
        .get(&format!(
            "/client-grants?take=10&client_id={}",
            api.get(&format!("/client-grants/{}", expected[0]))
                .await
                .body["client_id"]
                .as_str()
                .unwrap()
        ))
        .await;
    assert_eq!(one.body["client_grants"].as_array().unwrap().len(), 1);
    assert!(one.body.get("next").is_none());
    let mixed = api.get("/client-grants?take=2&page=1").await;
    assert_auth0_error(&mixed, 400, "invalid_query_string");
}

/// Polls the tenant's log until `query` lists `count` entries (token events are written just
/// after the answer, so as not to hold it).
async fn logged(api: &Api, query: &str, count: usize) -> Vec<Value> {
    for _ in 0..100 {
        let res = api.get(&format!("/logs?{query}")).await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        let entries = res.body.as_array().unwrap().clone();
        if entries.len() >= count {
            return entries;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the log never held {count} entries for {query}");
}

#[tokio::test]
async fn client_credentials_grants_and_refusals_are_logged_with_auth0_codes_and_no_secret() {
    let api = Api::start().await;
    let created = api
        .post(
            "/clients",
            json!({ "name": "Billing sync", "app_type": "non_interactive" }),
        )
        .await;
    let client_id = created.body["client_id"].as_str().unwrap().to_owned();
    let secret = created.body["client_secret"].as_str().unwrap().to_owned();
    let audience = format!("{}api/v2/", api.tenant.issuer);
    api.post(
        "/client-grants",
        json!({ "client_id": client_id, "audience": audience, "scope": ["read:clients"] }),
    )
    .await;

    // Two grants (the second gets the first token back), each logged.
    for _ in 0..2 {
        assert_eq!(
            client_credentials(&api, &client_id, &secret).await.status(),
            200
        );
    }
    let wrong_secret = "not-the-secret-4f2a9c";
    assert_eq!(
        client_credentials(&api, &client_id, wrong_secret)
            .await
            .status(),
        401
    );
    assert_eq!(
        client_credentials(&api, "no-such-client", "whatever-secret")
            .await
            .status(),
        401
    );
    let elsewhere = api
        .app
        .http
        .post(api.app.tenant_url(&api.tenant, "/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", secret.as_str()),
            ("audience", "https://billing.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 403);

    let query = format!("q=type:seccft AND client_id:\"{client_id}\"");
    let granted = logged(&api, &query, 2).await;
    assert_eq!(granted.len(), 2, "{granted:?}");
    for entry in &granted {
        assert_eq!(entry["type"], "seccft");
        assert_eq!(entry["details"]["audience"], audience.as_str());
        assert_eq!(entry["details"]["scope"], "read:clients");
        assert!(entry["ip"].as_str().is_some(), "{entry}");
    }

    let refused = logged(&api, "type=feccft", 3).await;
    // Written after their answers, the three may land in any order.
    let mut story: Vec<(&str, &str)> = refused
        .iter()
        .map(|e| {
            (
                e["client_id"].as_str().unwrap(),
                e["details"]["reason"].as_str().unwrap(),
            )
        })
        .collect();
    let mut expected = vec![
        (client_id.as_str(), "invalid_client"),
        ("no-such-client", "invalid_client"),
        (client_id.as_str(), "no_grant"),
    ];
    story.sort();
    expected.sort();
    assert_eq!(story, expected);
    let everything = api.get("/logs?per_page=100").await.body.to_string();
    assert!(!everything.contains(wrong_secret) && !everything.contains("whatever-secret"));
    assert!(!everything.contains(&secret));
}

#[tokio::test]
async fn a_change_through_the_api_is_logged_with_its_caller_and_address() {
    let api = Api::start().await;
    let created = api
        .send(
            api.request(reqwest::Method::POST, "/clients")
                .header("User-Agent", "node.js/20 auth0/4.4.0")
                .json(&json!({ "name": "Billing sync", "app_type": "non_interactive" })),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let changes = api.get("/logs?type=sapi").await;
    let entry = changes
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "client_created")
        .unwrap_or_else(|| panic!("no client_created in {:?}", changes.body));
    assert_eq!(entry["ip"], "127.0.0.1");
    assert_eq!(entry["user_agent"], "node.js/20 auth0/4.4.0");
    assert!(
        entry["actor"].as_str().unwrap().starts_with("api:"),
        "{entry}"
    );
}
