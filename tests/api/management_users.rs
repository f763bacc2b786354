//! `/api/v2/users`, `/api/v2/logs` and `/api/v2/keys/signing`: people who logged in (never
//! their upstream tokens), deletion ending their sessions, the events log (by page and from a
//! checkpoint), and key rotation.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::login::{login, login_setup, redeem, LoginSetup};
use crate::management_support::*;

const JAN: &str = "exact|b0b2c3d4-0000-4000-8000-000000000001";
const JAN_PATH: &str = "/users/exact%7Cb0b2c3d4-0000-4000-8000-000000000001";

/// A completed login of Jan, and a token with every management scope.
async fn after_login() -> (LoginSetup, String) {
    let s = login_setup().await;
    let res = login(&s, &s.web, &[]).await;
    assert_eq!(res.status(), 302);
    let token = s
        .app
        .management_token(&s.tenant, gatehouse::services::clients::MANAGEMENT_SCOPES)
        .await;
    (s, token)
}

async fn get(s: &LoginSetup, token: &str, path: &str) -> Res {
    let res = s
        .app
        .http
        .get(s.app.tenant_url(&s.tenant, &format!("/api/v2{path}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    into_res(res).await
}

#[tokio::test]
async fn users_are_listed_searched_and_read_with_identities_but_no_upstream_tokens() {
    let (s, token) = after_login().await;
    let list = get(&s, &token, "/users?include_totals=true").await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    assert_eq!(list.body["total"], 1);
    let user = &list.body["users"][0];
    assert_eq!(user["user_id"], JAN);
    assert_eq!(user["email"], "jan@example.nl");
    assert_eq!(user["name"], "Jan de Vries");
    assert_eq!(user["logins_count"], 1);
    assert!(user["created_at"].as_str().unwrap().ends_with('Z'));
    let identity = &user["identities"][0];
    assert_eq!(identity["connection"], "exact");
    assert_eq!(identity["provider"], "exact");
    assert_eq!(identity["user_id"], "b0b2c3d4-0000-4000-8000-000000000001");
    assert_eq!(identity["isSocial"], true);
    assert!(identity["profileData"].is_object());
    let text = list.body.to_string();
    assert!(
        !text.contains("access_token")
            && !text.contains("refresh_token")
            && !text.contains("tokens_sealed")
    );

    for (query, count) in [
        ("q=email:%22jan@example.nl%22", 1),
        ("q=email:JAN@example.nl", 1),
        ("email=jan@example.nl", 1),
        ("q=email:%22nobody@example.nl%22", 0),
    ] {
        let res = get(&s, &token, &format!("/users?{query}")).await;
        assert_eq!(res.body.as_array().unwrap().len(), count, "{query}");
    }
    let unsupported = get(&s, &token, "/users?q=name:jan").await;
    assert_auth0_error(&unsupported, 400, "invalid_query_string");

    let one = get(&s, &token, JAN_PATH).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["user_id"], JAN);
    assert!(one.header("etag").is_some());
    assert_auth0_error(
        &get(&s, &token, "/users/exact%7Cnobody").await,
        404,
        "inexistent_user",
    );
}

#[tokio::test]
async fn deleting_a_user_revokes_their_refresh_tokens() {
    let (s, token) = after_login().await;
    // A second login, redeemed for a refresh token.
    let res = login(&s, &s.web, &[]).await;
    let (_, params) = location_params(&res);
    let tokens: Value = redeem(
        &s,
        &[
            ("grant_type", "authorization_code"),
            ("code", &params["code"]),
            ("redirect_uri", &s.web.callback),
            ("client_id", &s.web.client_id),
            ("client_secret", s.web.client_secret.as_deref().unwrap()),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();

    let url = s.app.tenant_url(&s.tenant, &format!("/api/v2{JAN_PATH}"));
    let res = s
        .app
        .http
        .delete(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_auth0_error(&get(&s, &token, JAN_PATH).await, 404, "inexistent_user");
    let again = into_res(
        s.app
            .http
            .delete(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_auth0_error(&again, 404, "inexistent_user");

    let refreshed = redeem(
        &s,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", &s.web.client_id),
            ("client_secret", s.web.client_secret.as_deref().unwrap()),
        ],
    )
    .await;
    assert_eq!(refreshed.status(), 400);
    let revoked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM refresh_tokens WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NOT NULL",
    )
    .bind(s.tenant.tenant_id)
    .bind(JAN)
    .fetch_one(&s.app.pool)
    .await
    .unwrap();
    assert!(revoked >= 1);
}

async fn patch_user(
    s: &LoginSetup,
    token: &str,
    path: &str,
    body: Value,
    if_match: Option<&str>,
) -> Res {
    let mut req = s
        .app
        .http
        .patch(s.app.tenant_url(&s.tenant, &format!("/api/v2{path}")))
        .bearer_auth(token)
        .json(&body);
    if let Some(tag) = if_match {
        req = req.header("if-match", tag);
    }
    into_res(req.send().await.unwrap()).await
}

/// A token request with the web application's credentials: its status and body.
async fn token_request(s: &LoginSetup, grant: [(&str, &str); 2]) -> (u16, Value) {
    let mut form = vec![
        ("client_id", s.web.client_id.as_str()),
        ("client_secret", s.web.client_secret.as_deref().unwrap()),
        ("redirect_uri", s.web.callback.as_str()),
    ];
    form.extend(grant);
    let res = redeem(s, &form).await;
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn a_blocked_user_cannot_log_in_redeem_refresh_or_read_userinfo_until_unblocked() {
    let (s, token) = after_login().await;
    // Tokens from before the block: a code not yet redeemed, and a redeemed one's tokens.
    let code = |res: &reqwest::Response| location_params(res).1["code"].clone();
    let first = code(&login(&s, &s.web, &[]).await);
    let (_, tokens) =
        token_request(&s, [("grant_type", "authorization_code"), ("code", &first)]).await;
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let pending = code(&login(&s, &s.web, &[]).await);

    let user = get(&s, &token, JAN_PATH).await;
    assert_eq!(user.body["blocked"], false);
    let stale = user.headers["etag"].to_str().unwrap().to_owned();
    let blocked = patch_user(&s, &token, JAN_PATH, json!({"blocked": true}), Some(&stale)).await;
    assert_eq!(blocked.status, 200, "{:?}", blocked.body);
    assert_eq!(blocked.body["blocked"], true);
    assert_eq!(blocked.body["identities"][0]["connection"], "exact");
    assert_auth0_error(
        &patch_user(
            &s,
            &token,
            JAN_PATH,
            json!({"blocked": false}),
            Some(&stale),
        )
        .await,
        412,
        "precondition_failed",
    );

    let refused = login(&s, &s.web, &[]).await;
    let (location, params) = location_params(&refused);
    assert!(location.starts_with(&s.web.callback), "{location}");
    assert_eq!(params["error"], "unauthorized", "as Auth0 answers");
    assert_eq!(params["error_description"], "user is blocked");
    assert!(!params.contains_key("code"));
    let failures = get(&s, &token, "/logs?type=login_failure").await;
    assert_eq!(
        failures.body[0]["details"]["failed_step"], "user_blocked",
        "{:?}",
        failures.body
    );
    let logins = get(&s, &token, JAN_PATH).await.body["logins_count"].clone();
    assert_eq!(logins, 3, "the refused login is not counted");

    let (status, body) = token_request(
        &s,
        [("grant_type", "authorization_code"), ("code", &pending)],
    )
    .await;
    assert_eq!(
        (status, &body["error"], &body["error_description"]),
        (400, &json!("invalid_grant"), &json!("the user is blocked"))
    );
    let refresh_grant = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];
    let (status, body) = token_request(&s, refresh_grant).await;
    assert_eq!(
        (status, &body["error_description"]),
        (400, &json!("the user is blocked"))
    );
    let refused = get(&s, &token, "/logs?type=fertft").await;
    assert_eq!(refused.body[0]["details"]["reason"], "user_blocked");
    let userinfo = s
        .app
        .http
        .get(s.app.tenant_url(&s.tenant, "/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 401);

    let unblocked = patch_user(&s, &token, JAN_PATH, json!({"blocked": false}), None).await;
    assert_eq!(unblocked.body["blocked"], false);
    let events = get(&s, &token, &format!("/logs?user_id={}", urlencode(JAN))).await;
    let types: Vec<&str> = events
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert!(
        types.contains(&"user_blocked") && types.contains(&"user_unblocked"),
        "{types:?}"
    );
    let (status, _) = token_request(&s, refresh_grant).await;
    assert_eq!(status, 200, "the refresh token was kept");
    assert!(location_params(&login(&s, &s.web, &[]).await)
        .1
        .contains_key("code"));

    for (body, field) in [
        (json!({"name": "Someone else"}), "name"),
        (json!({}), "blocked"),
        (json!({"blocked": "yes"}), "blocked"),
    ] {
        let res = patch_user(&s, &token, JAN_PATH, body, None).await;
        assert_auth0_error(&res, 400, "invalid_body");
        assert!(
            res.body["message"].as_str().unwrap().contains(field),
            "{:?}",
            res.body
        );
    }
    let nobody = patch_user(
        &s,
        &token,
        "/users/exact%7Cnobody",
        json!({"blocked": true}),
        None,
    );
    assert_auth0_error(&nobody.await, 404, "inexistent_user");
}

#[tokio::test]
async fn users_are_found_by_email_whatever_its_case() {
    let (s, token) = after_login().await;
    let found = get(&s, &token, "/users-by-email?email=JAN%40Example.NL").await;
    assert_eq!(found.status, 200, "{:?}", found.body);
    assert_eq!(found.body[0]["user_id"], JAN);
    assert_eq!(found.body[0]["identities"][0]["connection"], "exact");
    let some = get(
        &s,
        &token,
        "/users-by-email?email=jan%40example.nl&fields=user_id",
    )
    .await;
    assert_eq!(some.body, json!([{"user_id": JAN}]));
    let none = get(&s, &token, "/users-by-email?email=nobody%40example.nl").await;
    assert_eq!(none.body, json!([]));
    let missing = get(&s, &token, "/users-by-email").await;
    assert_auth0_error(&missing, 400, "invalid_query_string");
    assert!(missing.body["message"].as_str().unwrap().contains("email"));
}

#[tokio::test]
async fn logs_are_auth0_shaped_filtered_and_paged() {
    let (s, token) = after_login().await;
    let all = get(&s, &token, "/logs?include_totals=true&per_page=100").await;
    assert_eq!(all.status, 200, "{:?}", all.body);
    let logs = all.body["logs"].as_array().unwrap();
    assert_eq!(all.body["total"], json!(logs.len()));
    let success = logs
        .iter()
        .find(|l| l["event"] == "login_success")
        .expect("a login event");
    // Auth0's log event type codes, so exporters and alerts written for Auth0 work.
    assert_eq!(success["type"], "s");
    // Who logged in from where, as Auth0's log events say.
    assert_eq!(success["ip"], "127.0.0.1");
    assert_eq!(success["user_agent"], TEST_USER_AGENT);
    let code_of = |event: &str| {
        logs.iter()
            .find(|l| l["event"] == event)
            .unwrap_or_else(|| panic!("a {event} event in {logs:?}"))["type"]
            .clone()
    };
    assert_eq!(code_of("connection_created"), "sapi");
    assert_eq!(code_of("tenant_created"), "sapi");
    for key in [
        "log_id",
        "date",
        "type",
        "description",
        "client_id",
        "connection",
        "user_id",
        "details",
    ] {
        assert!(success.get(key).is_some(), "{key} in {success}");
    }
    assert_eq!(success["user_id"], JAN);
    assert_eq!(success["client_id"], json!(s.web.client_id));

    // Filters take Gatehouse's name or Auth0's code, as a parameter or in Auth0's `q`.
    let events_of = |res: &Res| -> Vec<String> {
        res.body
            .as_array()
            .unwrap_or_else(|| panic!("{:?}", res.body))
            .iter()
            .map(|l| l["event"].as_str().unwrap().to_owned())
            .collect()
    };
    for query in [
        "type=login_success",
        "type=s",
        "q=type%3A%22s%22",
        "q=type%3As%20AND%20connection%3Aexact",
    ] {
        let typed = events_of(&get(&s, &token, &format!("/logs?{query}")).await);
        assert!(
            !typed.is_empty() && typed.iter().all(|e| e == "login_success"),
            "{query}: {typed:?}"
        );
    }
    let changes = events_of(&get(&s, &token, "/logs?q=type%3Asapi&per_page=100").await);
    assert!(
        changes.contains(&"connection_created".to_owned()),
        "{changes:?}"
    );
    assert!(!changes
        .iter()
        .any(|e| e.starts_with("login") || e.starts_with("code")));
    assert_auth0_error(
        &get(&s, &token, "/logs?q=description%3Alogin").await,
        400,
        "invalid_query_string",
    );
    let by_user = get(&s, &token, &format!("/logs?user_id={}", urlencode(JAN))).await;
    assert!(!by_user.body.as_array().unwrap().is_empty());
    assert!(by_user
        .body
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["user_id"] == JAN));
    let by_client = get(
        &s,
        &token,
        &format!("/logs?client_id={}&connection=exact", s.web.client_id),
    )
    .await;
    assert!(!by_client.body.as_array().unwrap().is_empty());
    assert_eq!(get(&s, &token, "/logs?to=2000-01-01").await.body, json!([]));
    assert_eq!(
        get(&s, &token, "/logs?from=2999-01-01T00:00:00Z")
            .await
            .body,
        json!([])
    );
    assert_auth0_error(
        &get(&s, &token, "/logs?from=yesterday").await,
        400,
        "invalid_query_string",
    );
    let first = get(&s, &token, "/logs?per_page=1").await;
    assert_eq!(first.body.as_array().unwrap().len(), 1);

    let id = success["log_id"].as_str().unwrap();
    let one = get(&s, &token, &format!("/logs/{id}")).await;
    assert_eq!(&one.body, success);
    assert_auth0_error(
        &get(&s, &token, "/logs/not-a-uuid").await,
        404,
        "inexistent_log",
    );
}

/// The path and query (after `/api/v2`) of a `Link: <...>; rel="next"` answer.
fn next_link(res: &Res) -> String {
    let link = res.headers["link"].to_str().unwrap();
    let url = link
        .strip_prefix('<')
        .and_then(|l| l.strip_suffix(">; rel=\"next\""))
        .unwrap_or_else(|| panic!("a next link: {link}"));
    let at = url
        .find("/api/v2/")
        .expect("an absolute management API URL");
    url[at + "/api/v2".len()..].to_owned()
}

/// Reads the log from `path` (a checkpoint request) until the ids read are `want` or 10 s
/// have passed (a transaction of another test still running holds events back, never
/// reorders them); returns the ids in the order read and the last request's next link.
async fn export(
    s: &LoginSetup,
    token: &str,
    mut path: String,
    want: usize,
) -> (Vec<String>, String) {
    let mut ids = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let res = get(s, token, &path).await;
        assert_eq!(res.status, 200, "{path}: {:?}", res.body);
        let page = res.body.as_array().expect("a bare array").clone();
        ids.extend(
            page.iter()
                .map(|l| l["log_id"].as_str().unwrap().to_owned()),
        );
        let next = next_link(&res);
        if page.is_empty() {
            assert_eq!(next, path, "an empty page links to the same checkpoint");
            if ids.len() >= want || std::time::Instant::now() > deadline {
                return (ids, next);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        path = next;
    }
}

#[tokio::test]
async fn logs_are_exported_from_a_checkpoint_each_event_once_in_commit_order() {
    let (s, token) = after_login().await;
    let all = get(&s, &token, "/logs?per_page=100").await;
    let mut every: Vec<String> = all
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["log_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(every.len() >= 2, "a login leaves several events: {every:?}");

    // Two at a time from the first event, as auth0-python sends it (page parameters along).
    let (read, last) = export(
        &s,
        &token,
        "/logs?page=0&per_page=50&include_totals=true&take=2".into(),
        every.len(),
    )
    .await;
    let mut sorted = read.clone();
    sorted.sort();
    every.sort();
    assert_eq!(sorted, every, "every event exactly once");

    // An event whose transaction is still open holds back the events committed after it,
    // so a reader that passes the later ones cannot skip the earlier one.
    let event = |description: &str| gatehouse::db::events::NewEvent {
        event_type: "tenant_updated",
        description: description.into(),
        ..Default::default()
    };
    let mut open = s.app.pool.begin().await.unwrap();
    let early = gatehouse::db::events::record(&mut *open, s.tenant.tenant_id, &event("early"))
        .await
        .unwrap();
    let late = gatehouse::db::events::record(&s.app.pool, s.tenant.tenant_id, &event("late"))
        .await
        .unwrap();
    let held = get(&s, &token, &last).await;
    assert_eq!(held.body, json!([]), "nothing passes the open transaction");
    assert_eq!(next_link(&held), last);
    open.commit().await.unwrap();
    let (after, _) = export(&s, &token, last, 2).await;
    assert_eq!(
        after,
        [early.to_string(), late.to_string()],
        "in commit order"
    );

    let fields = get(
        &s,
        &token,
        &format!("/logs?from={early}&take=1&fields=log_id"),
    )
    .await;
    assert_eq!(fields.body, json!([{"log_id": late.to_string()}]));
    for (query, field) in [
        ("take=0", "take"),
        ("take=101", "take"),
        ("from=not-a-log-or-date&take=5", "from"),
        ("from=6f1c1a2e-0000-4000-8000-000000000000", "from"),
    ] {
        let res = get(&s, &token, &format!("/logs?{query}")).await;
        assert_auth0_error(&res, 400, "invalid_query_string");
        assert!(
            res.body["message"].as_str().unwrap().contains(field),
            "{query}: {}",
            res.body
        );
    }
}

#[tokio::test]
async fn events_restored_into_another_cluster_come_before_its_own() {
    let (s, token) = after_login().await;
    let pool = &s.app.pool;
    // As after pg_dump and restore into a new cluster: the events carry transaction ids this
    // cluster has not reached, and `event_order` names the cluster they came from.
    sqlx::query(
        "UPDATE events SET txn =
            ((pg_snapshot_xmax(pg_current_snapshot())::text::bigint + 1000000)::text)::xid8",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("UPDATE event_order SET cluster = 42")
        .execute(pool)
        .await
        .unwrap();
    let (stuck, _) = export(&s, &token, "/logs?take=100".into(), 0).await;
    assert!(stuck.is_empty(), "ids from the future are never final");

    let restored: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap();
    let moved = gatehouse::db::events::adopt_cluster(pool).await.unwrap();
    assert_eq!(moved, u64::try_from(restored).unwrap());
    assert_eq!(
        gatehouse::db::events::adopt_cluster(pool).await.unwrap(),
        0,
        "once"
    );

    let (old, last) = export(&s, &token, "/logs?take=100".into(), 2).await;
    assert!(old.len() >= 2, "the restored events: {old:?}");
    let new = gatehouse::db::events::record(
        pool,
        s.tenant.tenant_id,
        &gatehouse::db::events::NewEvent {
            event_type: "tenant_updated",
            description: "after the restore".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (after, _) = export(&s, &token, last, 1).await;
    assert_eq!(
        after,
        [new.to_string()],
        "a new event follows the restored ones"
    );
}

#[tokio::test]
async fn a_users_logs_are_paged_and_sorted() {
    let (s, token) = after_login().await;
    assert_eq!(login(&s, &s.web, &[]).await.status(), 302, "Jan again");
    let path = format!("{JAN_PATH}/logs");
    let newest = get(&s, &token, &format!("{path}?include_totals=true")).await;
    assert_eq!(newest.status, 200, "{:?}", newest.body);
    let logs = newest.body["logs"].as_array().unwrap().clone();
    assert!(logs.len() >= 2, "two logins: {logs:?}");
    assert!(logs.iter().all(|l| l["user_id"] == JAN));
    assert_eq!(newest.body["total"], json!(logs.len()));
    assert_eq!(newest.body["length"], json!(logs.len()));
    assert_eq!(newest.body["start"], 0);
    let dates = |v: &[Value]| -> Vec<String> {
        v.iter()
            .map(|l| l["date"].as_str().unwrap().to_owned())
            .collect()
    };
    let oldest = get(&s, &token, &format!("{path}?sort=date:1")).await;
    let mut reversed = dates(oldest.body.as_array().unwrap());
    reversed.reverse();
    assert_eq!(reversed, dates(&logs));
    let one = get(&s, &token, &format!("{path}?per_page=1&page=1")).await;
    assert_eq!(one.body.as_array().unwrap().len(), 1);
    assert_eq!(one.body[0], logs[1]);
    let nobody = get(&s, &token, "/users/exact%7Cnobody/logs").await;
    assert_eq!(nobody.body, json!([]));
    assert_auth0_error(
        &get(&s, &token, &format!("{path}?sort=name:1")).await,
        400,
        "invalid_query_string",
    );
    assert_auth0_error(
        &get(&s, &token, &format!("{path}?take=5")).await,
        400,
        "invalid_query_string",
    );
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn revoke_key(api: &Api, token: String, kid: String) -> Res {
    api.send(api.request_as(
        &token,
        reqwest::Method::PUT,
        &format!("/keys/signing/{kid}/revoke"),
    ))
    .await
}

#[tokio::test]
async fn a_revoked_signing_key_leaves_the_jwks_and_nothing_it_signed_verifies() {
    let api = Api::start().await;
    let old_kid = api.get("/keys/signing").await.body[0]["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    // A token verified once (so remembered by the node) before the key is revoked.
    assert_eq!(api.get("/keys/signing").await.status, 200);
    let rotated = api.post("/keys/signing/rotate", Value::Null).await;
    let new_kid = rotated.body["kid"].as_str().unwrap().to_owned();

    // The key that signs cannot be revoked, an unknown one does not exist.
    assert_auth0_error(
        &revoke_key(&api, api.token.clone(), new_kid.clone()).await,
        400,
        "current_key_not_revocable",
    );
    assert_auth0_error(
        &revoke_key(&api, api.token.clone(), "nope".into()).await,
        404,
        "inexistent_signing_key",
    );

    let revoked = revoke_key(&api, api.token.clone(), old_kid.clone()).await;
    assert_eq!(revoked.status, 200, "{:?}", revoked.body);
    assert_eq!(revoked.body["kid"], json!(old_kid));
    assert_eq!(revoked.body["revoked"], true);
    assert!(revoked.body["revoked_at"].is_string());
    assert_eq!(revoked.body["published"], false);

    // Gone from the JWKS, and the token it signed is refused though the node had verified it.
    let kids = api.app.published_kids(&api.tenant).await;
    assert_eq!(kids, std::slice::from_ref(&new_kid));
    assert_eq!(api.get("/keys/signing").await.status, 401);

    // A fresh token (signed with the current key) sees the record; revoking again is a no-op.
    let fresh = api
        .app
        .management_token(
            &api.tenant,
            &["read:signing_keys", "update:signing_keys", "read:logs"],
        )
        .await;
    let again = revoke_key(&api, fresh.clone(), old_kid.clone()).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["revoked_at"], revoked.body["revoked_at"]);
    let listed = api
        .send(api.request_as(
            &fresh,
            reqwest::Method::GET,
            &format!("/keys/signing/{old_kid}"),
        ))
        .await;
    assert_eq!(listed.body["revoked"], true);
    let events = api
        .send(api.request_as(
            &fresh,
            reqwest::Method::GET,
            "/logs?type=signing_key_revoked",
        ))
        .await;
    assert_eq!(
        events.body.as_array().unwrap().len(),
        1,
        "{:?}",
        events.body
    );
    assert_eq!(events.body[0]["details"]["kid"], json!(old_kid));
}

#[tokio::test]
async fn signing_keys_rotate_and_the_old_key_keeps_verifying_its_tokens() {
    let api = Api::start().await;
    let keys = api.get("/keys/signing").await;
    assert_eq!(keys.status, 200);
    let list = keys.body.as_array().unwrap();
    assert_eq!(list.len(), 1);
    let old_kid = list[0]["kid"].as_str().unwrap().to_owned();
    assert_eq!(list[0]["current"], true);
    assert_eq!(list[0]["published"], true);
    assert!(list[0]["thumbprint"].is_string());
    for private in [
        "\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\"", "private",
    ] {
        assert!(!keys.body.to_string().contains(private), "{private} leaked");
    }

    let rotated = api.post("/keys/signing/rotate", Value::Null).await;
    assert_eq!(rotated.status, 201, "{:?}", rotated.body);
    let new_kid = rotated.body["kid"].as_str().unwrap();
    assert_ne!(new_kid, old_kid);

    // The token in hand was signed with the old key: still accepted.
    let after = api.get("/keys/signing").await;
    assert_eq!(after.status, 200);
    let old = api.get(&format!("/keys/signing/{old_kid}")).await;
    assert_eq!(old.body["current"], false);
    assert_eq!(old.body["previous"], true);
    assert_eq!(old.body["published"], true);
    let kids = api.app.published_kids(&api.tenant).await;
    assert!(kids.contains(&old_kid) && kids.iter().any(|k| k == new_kid));

    let fresh = api
        .app
        .management_token(&api.tenant, &["read:signing_keys"])
        .await;
    let header = jsonwebtoken::decode_header(&fresh).unwrap();
    assert_eq!(header.kid.as_deref(), Some(new_kid));
    assert_auth0_error(
        &api.get("/keys/signing/nope").await,
        404,
        "inexistent_signing_key",
    );
}

#[tokio::test]
async fn stats_count_logins_and_signups_per_utc_day_and_active_users() {
    clear_of_utc_midnight().await;
    let (s, token) = after_login().await;
    assert_eq!(login(&s, &s.web, &[]).await.status(), 302, "Jan again");
    // One of the two logins happened three days ago.
    sqlx::query(
        "UPDATE events SET at = at - interval '3 days'
         WHERE event_id = (SELECT event_id FROM events
                           WHERE tenant_id = $1 AND type = 'login_success' LIMIT 1)",
    )
    .bind(s.tenant.tenant_id)
    .execute(&s.app.pool)
    .await
    .unwrap();

    let active = get(&s, &token, "/stats/active-users").await;
    assert_eq!((active.status, &active.body), (200, &json!(1)));

    let today = chrono::Utc::now().date_naive();
    let ymd = |days_ago: u64| {
        today
            .checked_sub_days(chrono::Days::new(days_ago))
            .unwrap()
            .format("%Y%m%d")
            .to_string()
    };
    let month = get(&s, &token, "/stats/daily").await;
    assert_eq!(month.status, 200, "{:?}", month.body);
    let days = month.body.as_array().unwrap();
    assert_eq!(days.len(), 30, "the 30 days up to today by default");
    let last = &days[29];
    assert_eq!(
        last["date"],
        format!("{}T00:00:00.000Z", today.format("%Y-%m-%d"))
    );
    assert_eq!((&last["logins"], &last["signups"]), (&json!(1), &json!(1)));
    assert_eq!(last["leaked_passwords"], 0);
    assert!(last["created_at"].as_str().unwrap() <= last["updated_at"].as_str().unwrap());
    assert_eq!(
        (&days[26]["logins"], &days[26]["signups"]),
        (&json!(1), &json!(0))
    );
    let total: i64 = days.iter().map(|d| d["logins"].as_i64().unwrap()).sum();
    assert_eq!(total, 2);

    let range = get(
        &s,
        &token,
        &format!("/stats/daily?from={}&to={}", ymd(3), ymd(2)),
    )
    .await;
    assert_eq!(range.status, 200);
    let logins: Vec<i64> = range
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["logins"].as_i64().unwrap())
        .collect();
    assert_eq!(logins, [1, 0]);

    // Deleting Jan does not rewrite history: the signup still counts on its day.
    let deleted = s
        .app
        .http
        .delete(s.app.tenant_url(&s.tenant, &format!("/api/v2{JAN_PATH}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let month = get(&s, &token, "/stats/daily").await;
    let days = month.body.as_array().unwrap();
    assert_eq!(
        (&days[29]["logins"], &days[29]["signups"]),
        (&json!(1), &json!(1))
    );
    let signups: i64 = days.iter().map(|d| d["signups"].as_i64().unwrap()).sum();
    assert_eq!(signups, 1, "counted once");
    let active = get(&s, &token, "/stats/active-users").await;
    assert_eq!(active.body, json!(0), "a deleted user is not active");

    for (query, field) in [
        ("from=2026-11-01", "from"),
        ("to=20261345", "to"),
        ("from=20261130&to=20261101", "from"),
        ("from=20240101&to=20261101", "from"),
        ("from=2026110", "from"),
    ] {
        let res = get(&s, &token, &format!("/stats/daily?{query}")).await;
        assert_auth0_error(&res, 400, "invalid_query_string");
        assert!(
            res.body["message"].as_str().unwrap().contains(field),
            "{query}: {:?}",
            res.body
        );
    }
}
