//! SECURITY.md, /login/callback: the transaction is single use and bound to the browser, and
//! every upstream failure ends as an OAuth error at the application with a recorded trace.

use std::time::Duration;

use fake_exact::{Consent, MeMode, TokenMode};
use serde_json::Value;

use crate::helpers::*;
use crate::login::*;

/// Runs /authorize and the fake Exact, returning the callback URL without following it.
async fn callback_url(s: &LoginSetup) -> String {
    let res = authorize(s, &s.web, &[]).await;
    let to_exact = res.headers()["location"].to_str().unwrap().to_owned();
    let res = s.app.http.get(&to_exact).send().await.unwrap();
    res.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_callback_without_state_or_with_an_unknown_state_is_refused_before_calling_exact() {
    let s = login_setup().await;
    callback_url(&s).await;
    for query in ["code=abc", "code=abc&state=unknown", "state=&code=abc"] {
        let res = s
            .app
            .http
            .get(format!(
                "{}?{query}",
                s.app.tenant_url(&s.tenant, "/login/callback")
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{query}");
        assert!(res.headers().get("location").is_none());
    }
    assert!(s.fake.token_requests().is_empty());
}

#[tokio::test]
async fn a_callback_in_another_browser_is_refused_and_leaves_the_real_login_intact() {
    let s = login_setup().await;
    let url = callback_url(&s).await;
    let stranger = browser();
    let res = stranger.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(
        s.fake.token_requests().is_empty(),
        "nothing was sent to Exact"
    );
    let res = s.app.http.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 302);
    assert!(location_params(&res).1.contains_key("code"));
}

#[tokio::test]
async fn a_callback_is_single_use() {
    let s = login_setup().await;
    let url = callback_url(&s).await;
    assert_eq!(s.app.http.get(&url).send().await.unwrap().status(), 302);
    let replay = s.app.http.get(&url).send().await.unwrap();
    assert_eq!(replay.status(), 400);
    assert_eq!(s.fake.token_requests().len(), 1);
}

#[tokio::test]
async fn an_expired_transaction_is_refused() {
    let s = login_setup().await;
    let url = callback_url(&s).await;
    sqlx::query("UPDATE login_transactions SET expires_at = now() - interval '1 second'")
        .execute(&s.app.pool)
        .await
        .unwrap();
    assert_eq!(s.app.http.get(&url).send().await.unwrap().status(), 400);
    assert!(s.fake.token_requests().is_empty());
}

#[tokio::test]
async fn a_user_who_declines_at_exact_sends_access_denied_to_the_application() {
    let s = login_setup().await;
    s.fake.set_consent(Consent::Decline);
    let res = login(&s, &s.web, &[]).await;
    let (location, params) = location_params(&res);
    assert!(location.starts_with(&s.web.callback));
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "app-state-123");
    assert!(s.fake.token_requests().is_empty());
    let event = last_failure(&s).await;
    assert_eq!(event["failed_step"], "callback");
}

async fn last_failure(s: &LoginSetup) -> Value {
    let details: Value = sqlx::query_scalar(
        "SELECT details FROM events WHERE type = 'login_failure' ORDER BY at DESC LIMIT 1",
    )
    .fetch_one(&s.app.pool)
    .await
    .expect("a login_failure event");
    details
}

/// Each way Exact's token endpoint can fail: the application gets an OAuth error, the code
/// was sent once, and the trace records the step and (redacted) answer.
#[tokio::test]
async fn every_token_endpoint_failure_ends_as_an_oauth_error_with_a_trace() {
    let s = login_setup().await;
    let cases = [
        (TokenMode::Status500, "server_error", Some(500)),
        (TokenMode::Html, "server_error", Some(200)),
        (TokenMode::GarbageJson, "server_error", Some(200)),
        (TokenMode::NoAccessToken, "server_error", Some(200)),
        (TokenMode::PlainBadRequest, "server_error", Some(400)),
        (TokenMode::InvalidGrant, "server_error", Some(400)),
        (TokenMode::Huge, "server_error", Some(200)),
        (
            TokenMode::Slow(Duration::from_secs(4)),
            "temporarily_unavailable",
            None,
        ),
    ];
    for (i, (mode, error, status)) in cases.into_iter().enumerate() {
        s.fake.set_token_mode(mode.clone());
        let res = login(&s, &s.web, &[]).await;
        assert_eq!(res.status(), 302, "{mode:?}");
        let (_, params) = location_params(&res);
        assert_eq!(params["error"], error, "{mode:?}");
        assert_eq!(params["state"], "app-state-123");
        if matches!(mode, TokenMode::Slow(_)) {
            // The fake records a slow request when it finally answers, after we gave up.
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        assert_eq!(
            s.fake.token_requests().len(),
            i + 1,
            "{mode:?}: exactly one code exchange, no retry"
        );
        let trace = last_failure(&s).await;
        assert_eq!(trace["failed_step"], "upstream_token_exchange", "{mode:?}");
        assert_eq!(
            trace["upstream"]["status"].as_u64().map(|n| n as u16),
            status,
            "{mode:?}"
        );
        let text = trace.to_string();
        assert!(
            !text.contains("secret-"),
            "{mode:?}: the connection secret leaked into the trace"
        );
    }
    let trace = {
        s.fake.set_token_mode(TokenMode::InvalidGrant);
        login(&s, &s.web, &[]).await;
        last_failure(&s).await
    };
    assert!(trace["upstream"]["answer"]
        .as_str()
        .unwrap()
        .contains("invalid_grant"));
    // And logins work again as soon as Exact does.
    s.fake.set_token_mode(TokenMode::Ok);
    let res = login(&s, &s.web, &[]).await;
    assert!(location_params(&res).1.contains_key("code"));
}

#[tokio::test]
async fn every_profile_failure_ends_as_an_oauth_error_with_a_trace() {
    let s = login_setup().await;
    for mode in [
        MeMode::EmptyResults,
        MeMode::MissingD,
        MeMode::Garbage,
        MeMode::Unauthorized,
        MeMode::Slow(Duration::from_secs(4)),
    ] {
        s.fake.set_me_mode(mode.clone());
        let res = login(&s, &s.web, &[]).await;
        let (_, params) = location_params(&res);
        let expected = if matches!(mode, MeMode::Slow(_)) {
            "temporarily_unavailable"
        } else {
            "server_error"
        };
        assert_eq!(params["error"], expected, "{mode:?}");
        let trace = last_failure(&s).await;
        assert_eq!(trace["failed_step"], "profile_fetch", "{mode:?}");
    }
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&s.app.pool)
        .await
        .unwrap();
    assert_eq!(users, 0, "no half-made user");
}

#[tokio::test]
async fn an_unreachable_exact_is_temporarily_unavailable() {
    let s = login_setup().await;
    let url = callback_url(&s).await;
    // Nothing listens on port 1 of loopback.
    s.app.execute_config_sql("UPDATE connections SET options = jsonb_set(options, '{baseUrl}', '\"http://127.0.0.1:1\"')").await;
    let res = s.app.http.get(&url).send().await.unwrap();
    assert_eq!(location_params(&res).1["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn a_successful_login_is_recorded_with_its_steps() {
    let s = login_setup().await;
    login(&s, &s.web, &[]).await;
    let details: Value =
        sqlx::query_scalar("SELECT details FROM events WHERE type = 'login_success'")
            .fetch_one(&s.app.pool)
            .await
            .unwrap();
    let steps: Vec<&str> = details["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "authorize",
            "callback",
            "upstream_token_exchange",
            "profile_fetch",
            "user_upsert",
            "code_issued"
        ]
    );
    let identity: (String, Value, Option<String>) =
        sqlx::query_as("SELECT provider_user_id, profile_data, tokens_sealed FROM identities")
            .fetch_one(&s.app.pool)
            .await
            .unwrap();
    assert_eq!(identity.0, "b0b2c3d4-0000-4000-8000-000000000001");
    assert_eq!(identity.1["CurrentDivision"], 123456);
    assert!(
        identity.2.unwrap().starts_with("v1."),
        "upstream tokens are sealed"
    );
}

#[tokio::test]
async fn root_attributes_follow_the_connection_policy() {
    let s = login_setup().await;
    login(&s, &s.web, &[]).await;
    s.app.execute_config_sql("UPDATE connections SET options = options || '{\"set_user_root_attributes\":\"on_first_login\"}'").await;
    let mut user = fake_exact::FakeUser::jan();
    user.full_name = Some("Jan Changed".into());
    s.fake.set_user(user.clone());
    login(&s, &s.web, &[]).await;
    let name: String = sqlx::query_scalar("SELECT name FROM users")
        .fetch_one(&s.app.pool)
        .await
        .unwrap();
    assert_eq!(
        name, "Jan de Vries",
        "on_first_login keeps the first values"
    );
    s.app.execute_config_sql("UPDATE connections SET options = options || '{\"set_user_root_attributes\":\"on_each_login\"}'").await;
    login(&s, &s.web, &[]).await;
    let (name, count): (String, i32) = sqlx::query_as("SELECT name, logins_count FROM users")
        .fetch_one(&s.app.pool)
        .await
        .unwrap();
    assert_eq!(name, "Jan Changed");
    assert_eq!(count, 3);
}
