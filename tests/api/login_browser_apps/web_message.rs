//! Silent authentication and popup logins that hand their answer to the application's window
//! by web message.

use serde_json::Value;

use super::*;
use crate::helpers::*;
use crate::login::*;

/// The SPA of the setup, with its callback's origin listed (as web_message needs).
async fn with_callback_origin(s: &LoginSetup) {
    set_spa_web_origin(s, "https://app.example.com").await;
}

/// The target origin and response of a `response_mode=web_message` page.
async fn web_message(res: reqwest::Response) -> (String, String, Value) {
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = res.text().await.unwrap();
    let attr = |name: &str| {
        let marker = format!("{name}=\"");
        let start = html
            .find(&marker)
            .unwrap_or_else(|| panic!("{name} in {html}"))
            + marker.len();
        let raw = &html[start..start + html[start..].find('"').unwrap()];
        raw.replace("&quot;", "\"")
            .replace("&#34;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    };
    let response = serde_json::from_str(&attr("data-response")).unwrap();
    (csp, attr("data-origin"), response)
}

#[tokio::test]
async fn silent_authentication_by_web_message_tells_the_applications_window_to_log_in() {
    let s = login_setup().await;
    let silent = [
        ("prompt", "none"),
        ("response_mode", "web_message"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    // Not before the application lists its origin: then the answer goes by query.
    let res = authorize(&s, &s.spa, &silent).await;
    assert_eq!(res.status(), 302);
    let (_, params) = location_params(&res);
    assert_eq!(params["error"], "invalid_request");
    assert!(params["error_description"].contains("web origins"));

    with_callback_origin(&s).await;
    let (csp, origin, response) = web_message(authorize(&s, &s.spa, &silent).await).await;
    assert_eq!(origin, "https://app.example.com");
    assert!(
        csp.contains("frame-ancestors https://app.example.com;"),
        "framed by the application only: {csp}"
    );
    assert_eq!(response["error"], "login_required");
    assert_eq!(response["state"], "app-state-123");
    assert_eq!(response["iss"], s.tenant.issuer);
}

#[tokio::test]
async fn a_login_in_a_popup_hands_its_code_to_the_opener_by_web_message() {
    let s = login_setup().await;
    with_callback_origin(&s).await;
    let res = login(
        &s,
        &s.spa,
        &[
            ("response_mode", "web_message"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let (_, origin, response) = web_message(res).await;
    assert_eq!(origin, "https://app.example.com");
    assert_eq!(response["state"], "app-state-123");
    let code = response["code"].as_str().expect("a code").to_owned();
    let res = redeem_from(&s, &code, Some("https://app.example.com")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        allowed_origin(&res).as_deref(),
        Some("https://app.example.com")
    );
}
