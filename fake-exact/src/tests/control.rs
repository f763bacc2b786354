//! `/__fake/*`: the switches over HTTP.

use super::*;

#[tokio::test]
async fn the_switches_work_over_http() {
    let (exact, http) = spawn().await;
    let post = |path: &str, body: Value| {
        http.post(format!("{}/__fake/{path}", exact.base_url()))
            .json(&body)
            .send()
    };
    let ok = |response: reqwest::Result<Response>| {
        response.expect("control request").status() == StatusCode::NO_CONTENT
    };

    assert!(ok(post(
        "token-mode",
        serde_json::json!({"mode": "slow", "millis": 5})
    )
    .await));
    assert_eq!(
        exact.lock().token_mode,
        TokenMode::Slow(Duration::from_millis(5))
    );
    assert!(ok(post(
        "token-mode",
        serde_json::json!({"mode": "garbage_json"})
    )
    .await));
    assert_eq!(exact.lock().token_mode, TokenMode::GarbageJson);
    assert!(ok(post(
        "me-mode",
        serde_json::json!({"mode": "missing_d"})
    )
    .await));
    assert_eq!(exact.lock().me_mode, MeMode::MissingD);
    assert!(ok(post(
        "consent",
        serde_json::json!({"consent": "decline"})
    )
    .await));
    assert_eq!(exact.lock().consent, Consent::Decline);
    let user =
        serde_json::json!({"user_id": "00000000-0000-4000-8000-0000000000bb", "user_name": "kees"});
    assert!(ok(post("user", user).await));
    assert_eq!(exact.lock().user.user_name, "kees");
    assert_eq!(exact.lock().user.email, None);

    let bad = post("token-mode", serde_json::json!({"mode": "sideways"})).await;
    assert_eq!(
        bad.expect("control request").status(),
        StatusCode::BAD_REQUEST
    );
    exact.stop().await;
}
