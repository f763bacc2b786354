//! `POST /api/oauth2/token`: grant rules (single use, expiry, binding, rotation), client
//! authentication, and every [`TokenMode`](crate::TokenMode).

use super::*;

#[tokio::test]
async fn a_code_is_single_use() {
    let (exact, http) = spawn().await;
    let code = obtain_code(&exact, &http).await;
    assert_eq!(
        exchange(&exact, &http, &code).await.status(),
        StatusCode::OK
    );

    let again = exchange(&exact, &http, &code).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    let body = json_of(again).await;
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], CHAIN_ID_DESCRIPTION);
    assert_eq!(exact.token_requests()[1].status, 400);
    exact.stop().await;
}

#[tokio::test]
async fn an_unknown_code_gets_plain_text_bad_request() {
    let (exact, http) = spawn().await;
    let response = exchange(&exact, &http, "stampNL!nonsense*+/==").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(content_type(&response).starts_with("text/plain"));
    assert_eq!(response.text().await.expect("body"), "Bad Request");
    exact.stop().await;
}

#[tokio::test]
async fn an_expired_code_is_refused_with_invalid_grant() {
    let (exact, http) = spawn().await;
    let code = obtain_code(&exact, &http).await;
    {
        let mut state = exact.lock();
        let grant = state.codes.get_mut(&code).expect("code stored");
        let Some(aged) = Instant::now().checked_sub(CODE_TTL + Duration::from_secs(1)) else {
            return; // a machine up for less than three minutes cannot age a code
        };
        grant.issued = aged;
    }
    let response = exchange(&exact, &http, &code).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(response).await["error"], "invalid_grant");
    exact.stop().await;
}

#[tokio::test]
async fn a_code_is_bound_to_its_redirect_uri_and_client() {
    let (exact, http) = spawn().await;
    exact.add_app(FakeApp {
        client_id: "other".into(),
        client_secret: "other-secret".into(),
        redirect_uris: vec![],
    });
    let code = obtain_code(&exact, &http).await;
    let form = |redirect_uri, client_id, secret| {
        vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri),
            ("client_id", client_id),
            ("client_secret", secret),
        ]
    };

    let other_client = post_token(&exact, &http, &form(CALLBACK, "other", "other-secret")).await;
    assert_eq!(other_client.status(), StatusCode::BAD_REQUEST);
    assert_eq!(other_client.text().await.expect("body"), "Bad Request");

    let wrong_uri = "https://login.example.test/callback";
    let response = post_token(&exact, &http, &form(wrong_uri, CLIENT_ID, SECRET)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(response).await["error"], "invalid_grant");

    // Neither attempt used the code up.
    assert_eq!(
        exchange(&exact, &http, &code).await.status(),
        StatusCode::OK
    );
    exact.stop().await;
}

#[tokio::test]
async fn a_wrong_secret_is_refused_with_invalid_client() {
    let (exact, http) = spawn().await;
    let code = obtain_code(&exact, &http).await;
    let response = post_token(
        &exact,
        &http,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("client_id", CLIENT_ID),
            ("client_secret", "wrong"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        json_of(response).await,
        serde_json::json!({"error": "invalid_client"})
    );
    exact.stop().await;
}

#[tokio::test]
async fn credentials_in_basic_auth_only_are_refused() {
    let (exact, http) = spawn().await;
    let code = obtain_code(&exact, &http).await;
    let response = http
        .post(format!("{}/api/oauth2/token", exact.base_url()))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        json_of(response).await,
        serde_json::json!({"error": "invalid_client"})
    );
    let recorded = exact.token_requests();
    assert!(recorded[0]
        .authorization_header
        .as_deref()
        .is_some_and(|h| h.starts_with("Basic ")));
    assert_eq!(recorded[0].status, 401);
    exact.stop().await;
}

#[tokio::test]
async fn a_token_request_that_is_not_a_form_is_refused() {
    let (exact, http) = spawn().await;
    let response = http
        .post(format!("{}/api/oauth2/token", exact.base_url()))
        .json(&serde_json::json!({"grant_type": "authorization_code"}))
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(response).await["error"], "invalid_request");
    assert_eq!(exact.token_requests()[0].status, 400);
    exact.stop().await;
}

#[tokio::test]
async fn refresh_tokens_rotate_on_every_use() {
    let (exact, http) = spawn().await;
    let first = tokens(&exact, &http).await;
    let first_refresh = first["refresh_token"].as_str().expect("refresh token");

    let response = refresh(&exact, &http, first_refresh).await;
    assert_eq!(response.status(), StatusCode::OK);
    let second = json_of(response).await;
    assert_eq!(second["expires_in"], "600");
    let second_refresh = second["refresh_token"].as_str().expect("refresh token");
    assert_ne!(first_refresh, second_refresh);
    let second_access = second["access_token"].as_str().expect("access token");
    assert_eq!(
        get_me(&exact, &http, Some(second_access)).await.status(),
        StatusCode::OK
    );

    let reused = refresh(&exact, &http, first_refresh).await;
    assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
    let body = json_of(reused).await;
    assert_eq!(body["error"], "invalid_request");
    assert!(body["error_description"]
        .as_str()
        .is_some_and(|d| d.starts_with("The refresh token expired at ")));

    assert_eq!(
        refresh(&exact, &http, second_refresh).await.status(),
        StatusCode::OK
    );
    let unknown = refresh(&exact, &http, "__1P!Inever*issued+/==").await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert_eq!(unknown.text().await.expect("body"), "Bad Request");
    exact.stop().await;
}
#[tokio::test]
async fn each_token_mode_answers_in_its_shape() {
    let (exact, http) = spawn().await;
    let cases = [
        (TokenMode::Status500, 500, "text/html"),
        (TokenMode::Html, 200, "text/html"),
        (TokenMode::GarbageJson, 200, "application/json"),
        (TokenMode::NoAccessToken, 200, "application/json"),
        (TokenMode::PlainBadRequest, 400, "text/plain"),
        (TokenMode::InvalidGrant, 400, "application/json"),
        (TokenMode::Huge, 200, "application/json"),
    ];
    for (mode, status, ct) in cases {
        exact.set_token_mode(mode.clone());
        let response = exchange(&exact, &http, "stampNL!any*+/==").await;
        assert_eq!(response.status().as_u16(), status, "{mode:?}");
        assert!(content_type(&response).starts_with(ct), "{mode:?}");
        let text = response.text().await.expect("body");
        let parsed = serde_json::from_str::<Value>(&text);
        match mode {
            TokenMode::GarbageJson => assert!(parsed.is_err()),
            TokenMode::NoAccessToken => {
                let body = parsed.expect("JSON");
                assert!(body.get("access_token").is_none());
            }
            TokenMode::PlainBadRequest => assert_eq!(text, "Bad Request"),
            TokenMode::InvalidGrant => {
                let body = parsed.expect("JSON");
                assert_eq!(body["error"], "invalid_grant");
                assert_eq!(body["error_description"], CHAIN_ID_DESCRIPTION);
            }
            TokenMode::Huge => assert!(text.len() >= 5 * 1024 * 1024),
            _ => {}
        }
    }
    let statuses: Vec<u16> = exact.token_requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 200, 200, 200, 400, 400, 200]);

    exact.set_token_mode(TokenMode::Slow(Duration::from_millis(300)));
    let code = obtain_code(&exact, &http).await;
    let started = Instant::now();
    let response = exchange(&exact, &http, &code).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(response.status(), StatusCode::OK);
    assert!(json_of(response).await["access_token"].is_string());
    exact.stop().await;
}
