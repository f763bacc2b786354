//! `GET /api/oauth2/auth` and the consent page: who signs in, what is refused, what is escaped.

use super::*;

#[tokio::test]
async fn a_browser_with_a_session_cookie_signs_in_as_its_own_user() {
    let (exact, http) = spawn().await;
    let me_after = |cookie: Option<&'static str>| {
        let (exact, http) = (&exact, &http);
        async move {
            let mut request = http
                .get(format!("{}/api/oauth2/auth", exact.base_url()))
                .query(&valid_query());
            if let Some(cookie) = cookie {
                request = request.header(reqwest::header::COOKIE, cookie);
            }
            let response = request.send().await.expect("authorize request");
            let code = param(&callback_params(&response), "code")
                .expect("code")
                .to_owned();
            let body = json_of(exchange(exact, http, &code).await).await;
            let access = body["access_token"].as_str().expect("access token");
            json_of(get_me(exact, http, Some(access)).await).await["d"]["results"][0].clone()
        }
    };
    let user_7 = me_after(Some("fake_exact_user=7")).await;
    assert_eq!(user_7["UserID"], FakeUser::numbered(7).user_id.as_str());
    assert_eq!(user_7["UserName"], "user7@example.nl");
    // The session is the browser's: the fake's current user is unchanged for everyone else.
    let default = me_after(None).await;
    assert_eq!(default["UserID"], FakeUser::jan().user_id.as_str());
    let garbage = me_after(Some("fake_exact_user=seven")).await;
    assert_eq!(garbage["UserID"], FakeUser::jan().user_id.as_str());
    exact.stop().await;
}
#[tokio::test]
async fn an_unregistered_callback_gets_an_escaped_error_page_not_a_redirect() {
    let (exact, http) = spawn().await;
    let evil = "https://evil.example/cb?x=<script>'";
    let mut query = valid_query();
    query[1] = ("redirect_uri", evil);
    let response = authorize(&exact, &http, &query).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(content_type(&response).starts_with("text/html"));
    let page = response.text().await.expect("body");
    assert!(page.contains(
        "Callback URI &#39;https://evil.example/cb?x=&lt;script&gt;&#39;&#39; is not valid"
    ));
    assert!(!page.contains("<script"));

    // A path that differs only slightly is just as unregistered.
    query[1] = ("redirect_uri", "https://login.example.test/callback");
    let response = authorize(&exact, &http, &query).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    query[1] = ("redirect_uri", CALLBACK);
    query[0] = ("client_id", "unknown");
    let response = authorize(&exact, &http, &query).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(content_type(&response).starts_with("text/html"));

    query[0] = ("client_id", CLIENT_ID);
    query[2] = ("response_type", "token");
    assert_eq!(
        authorize(&exact, &http, &query).await.status(),
        StatusCode::BAD_REQUEST
    );

    assert_eq!(
        exact.authorize_requests().len(),
        4,
        "invalid requests are recorded too"
    );
    exact.stop().await;
}

#[tokio::test]
async fn an_app_without_registered_callbacks_accepts_any() {
    let (exact, http) = spawn().await;
    exact.add_app(FakeApp {
        client_id: "laptop".into(),
        client_secret: "laptop-secret".into(),
        redirect_uris: vec![],
    });
    let response = authorize(
        &exact,
        &http,
        &[
            ("client_id", "laptop"),
            ("redirect_uri", "http://localhost:8080/cb"),
            ("response_type", "code"),
            ("state", "s"),
        ],
    )
    .await;
    let params = callback_params(&response);
    assert!(param(&params, "code").is_some());
    assert!(response.headers()[LOCATION]
        .to_str()
        .is_ok_and(|l| l.starts_with("http://localhost:8080/cb?code=")));
    exact.stop().await;
}

#[tokio::test]
async fn a_declining_user_is_sent_back_with_access_denied() {
    let (exact, http) = spawn().await;
    exact.set_consent(Consent::Decline);
    let response = authorize(&exact, &http, &valid_query()).await;
    let params = callback_params(&response);
    assert_eq!(param(&params, "error"), Some("access_denied"));
    assert!(param(&params, "error_description").is_some());
    assert_eq!(param(&params, "state"), Some(STATE));
    assert!(param(&params, "code").is_none());
    exact.stop().await;
}

#[tokio::test]
async fn the_consent_page_escapes_the_request_and_posts_the_decision_back() {
    let (exact, http) = spawn().await;
    exact.set_consent(Consent::Page);
    let nasty_state = "\"><script>alert(1)</script>";
    let mut query = valid_query();
    query[3] = ("state", nasty_state);
    let response = authorize(&exact, &http, &query).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(content_type(&response).starts_with("text/html"));
    let page = response.text().await.expect("body");
    assert!(page.contains("wants access"));
    assert!(page.contains("Jan de Vries"));
    assert!(page.contains("action=\"/api/oauth2/auth/consent\""));
    assert!(page.contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""));
    assert!(
        !page.contains("<script"),
        "no script at all, and no injected one"
    );

    let consent_url = format!("{}/api/oauth2/auth/consent", exact.base_url());
    let decide = |decision: &'static str| {
        http.post(&consent_url)
            .form(&[
                ("client_id", CLIENT_ID),
                ("redirect_uri", CALLBACK),
                ("response_type", "code"),
                ("state", nasty_state),
                ("decision", decision),
            ])
            .send()
    };
    let allowed = callback_params(&decide("allow").await.expect("consent POST"));
    assert_eq!(param(&allowed, "state"), Some(nasty_state));
    let code = param(&allowed, "code").expect("code");
    assert_eq!(exchange(&exact, &http, code).await.status(), StatusCode::OK);

    let declined = callback_params(&decide("decline").await.expect("consent POST"));
    assert_eq!(param(&declined, "error"), Some("access_denied"));

    let tampered = http
        .post(&consent_url)
        .form(&[
            ("client_id", CLIENT_ID),
            ("redirect_uri", "https://evil.example/cb"),
            ("response_type", "code"),
            ("decision", "allow"),
        ])
        .send()
        .await
        .expect("consent POST");
    assert_eq!(tampered.status(), StatusCode::BAD_REQUEST);
    exact.stop().await;
}
