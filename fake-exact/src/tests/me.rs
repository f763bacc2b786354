//! `GET /api/v1/current/Me`: XML or JSON, refused tokens, the user's fields, and every
//! [`MeMode`](crate::MeMode).

use super::*;

#[tokio::test]
async fn me_answers_xml_when_json_is_not_accepted() {
    let (exact, http) = spawn().await;
    let body = tokens(&exact, &http).await;
    let access = body["access_token"].as_str().expect("access token");
    let response = http
        .get(format!("{}/api/v1/current/Me", exact.base_url()))
        .header(AUTHORIZATION, format!("Bearer {access}"))
        .send()
        .await
        .expect("Me request");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(content_type(&response).starts_with("application/xml"));
    let xml = response.text().await.expect("body");
    assert!(xml.starts_with("<?xml"));
    assert!(xml
        .contains("<d:UserID m:type=\"Edm.Guid\">b0b2c3d4-0000-4000-8000-000000000001</d:UserID>"));
    assert!(xml.contains("<d:FullName m:type=\"Edm.String\">Jan de Vries</d:FullName>"));
    exact.stop().await;
}

#[tokio::test]
async fn me_refuses_missing_unknown_and_expired_tokens_with_the_rest_error_body() {
    let (exact, http) = spawn().await;
    let body = tokens(&exact, &http).await;
    let access = body["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();

    for token in [None, Some("AAEAA!unknown*+/==")] {
        let response = get_me(&exact, &http, token).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(json_of(response).await["error"]["message"]["value"].is_string());
    }

    {
        let mut state = exact.lock();
        let grant = state.access_tokens.get_mut(&access).expect("token stored");
        let Some(past) = Instant::now().checked_sub(Duration::from_secs(1)) else {
            return;
        };
        grant.expires = past;
    }
    assert_eq!(
        get_me(&exact, &http, Some(&access)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(ACCESS_TTL, Duration::from_secs(600));
    let statuses: Vec<u16> = exact.me_requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 401, 401]);
    exact.stop().await;
}

#[tokio::test]
async fn me_shows_the_user_set_with_nulls_for_missing_fields() {
    let (exact, http) = spawn().await;
    exact.set_user(FakeUser {
        user_id: "00000000-0000-4000-8000-0000000000aa".into(),
        user_name: "piet@example.be".into(),
        full_name: None,
        first_name: None,
        middle_name: None,
        last_name: None,
        email: None,
        picture_url: None,
        language_code: Some("en-GB".into()),
        current_division: None,
        gender: None,
        title: None,
    });
    let body = tokens(&exact, &http).await;
    let access = body["access_token"].as_str().expect("access token");
    let me = json_of(get_me(&exact, &http, Some(access)).await).await;
    let user = &me["d"]["results"][0];
    assert_eq!(user["UserName"], "piet@example.be");
    assert_eq!(user["Email"], Value::Null);
    assert_eq!(user["CurrentDivision"], Value::Null);
    assert_eq!(user["Language"], "EN");
    exact.stop().await;
}
#[tokio::test]
async fn each_me_mode_answers_in_its_shape() {
    let (exact, http) = spawn().await;
    let body = tokens(&exact, &http).await;
    let access = body["access_token"].as_str().expect("access token");

    exact.set_me_mode(MeMode::EmptyResults);
    let body = json_of(get_me(&exact, &http, Some(access)).await).await;
    assert_eq!(body, serde_json::json!({"d": {"results": []}}));

    exact.set_me_mode(MeMode::MissingD);
    let body = json_of(get_me(&exact, &http, Some(access)).await).await;
    assert_eq!(body, serde_json::json!({}));

    exact.set_me_mode(MeMode::Garbage);
    let response = get_me(&exact, &http, Some(access)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("body");
    assert!(serde_json::from_str::<Value>(&text).is_err());

    exact.set_me_mode(MeMode::Unauthorized);
    let response = get_me(&exact, &http, Some(access)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(json_of(response).await["error"]["message"]["value"].is_string());

    exact.set_me_mode(MeMode::Slow(Duration::from_millis(300)));
    let started = Instant::now();
    let response = get_me(&exact, &http, Some(access)).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(response.status(), StatusCode::OK);

    let statuses: Vec<u16> = exact.me_requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 200, 401, 200]);
    exact.stop().await;
}
