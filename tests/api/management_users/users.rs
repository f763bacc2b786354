//! `/api/v2/users`: people who logged in (never their upstream tokens), found by email
//! whatever its case, blocked and unblocked, and deleted with their sessions.

use serde_json::{json, Value};

use super::*;
use crate::helpers::*;
use crate::login::{login, redeem, LoginSetup};
use crate::management_support::*;

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
