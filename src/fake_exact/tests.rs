//! The fake's own tests, over real HTTP on loopback: if the fake lies, every test built on it does.

use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use url::Url;
use uuid::Uuid;

use super::state::{ACCESS_TTL, CODE_TTL};
use super::token::CHAIN_ID_DESCRIPTION;
use super::*;

const CLIENT_ID: &str = "b81cc4de-d192-400e-bcb4-09254394c52a";
const SECRET: &str = "s3cret!*+/=";
/// Registered with a query of its own, so the code must be appended with `&`.
const CALLBACK: &str = "https://login.example.test/callback?tenant=acme";
/// A state with characters that must survive the round trip.
const STATE: &str = "st ate+/=!*&x=1";

fn app() -> FakeApp {
    FakeApp {
        client_id: CLIENT_ID.into(),
        client_secret: SECRET.into(),
        redirect_uris: vec![CALLBACK.into()],
    }
}

fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("build reqwest client")
}

async fn spawn() -> (FakeExactHandle, Client) {
    (FakeExact::start(app()).await, client())
}

async fn authorize(exact: &FakeExactHandle, http: &Client, query: &[(&str, &str)]) -> Response {
    http.get(format!("{}/api/oauth2/auth", exact.base_url()))
        .query(query)
        .send()
        .await
        .expect("authorize request")
}

fn valid_query() -> Vec<(&'static str, &'static str)> {
    vec![
        ("client_id", CLIENT_ID),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("state", STATE),
    ]
}

/// The callback's query pairs, decoded, from a 302 answer.
fn callback_params(response: &Response) -> Vec<(String, String)> {
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[LOCATION]
        .to_str()
        .expect("ascii Location");
    Url::parse(location)
        .expect("absolute Location")
        .query_pairs()
        .into_owned()
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

async fn obtain_code(exact: &FakeExactHandle, http: &Client) -> String {
    let response = authorize(exact, http, &valid_query()).await;
    let params = callback_params(&response);
    param(&params, "code").expect("code in callback").to_owned()
}

async fn post_token(exact: &FakeExactHandle, http: &Client, form: &[(&str, &str)]) -> Response {
    http.post(format!("{}/api/oauth2/token", exact.base_url()))
        .form(form)
        .send()
        .await
        .expect("token request")
}

async fn exchange(exact: &FakeExactHandle, http: &Client, code: &str) -> Response {
    post_token(
        exact,
        http,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ],
    )
    .await
}

async fn refresh(exact: &FakeExactHandle, http: &Client, refresh_token: &str) -> Response {
    post_token(
        exact,
        http,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ],
    )
    .await
}

async fn tokens(exact: &FakeExactHandle, http: &Client) -> Value {
    let code = obtain_code(exact, http).await;
    let response = exchange(exact, http, &code).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("token JSON")
}

async fn get_me(exact: &FakeExactHandle, http: &Client, access_token: Option<&str>) -> Response {
    let mut request = http
        .get(format!("{}/api/v1/current/Me", exact.base_url()))
        .header(ACCEPT, "application/json");
    if let Some(token) = access_token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("Me request")
}

fn content_type(response: &Response) -> String {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn has_awkward_chars(secret: &str) -> bool {
    ['!', '*', '+', '/', '=']
        .iter()
        .all(|ch| secret.contains(*ch))
}

async fn json_of(response: Response) -> Value {
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).expect("JSON body")
}

#[tokio::test]
async fn a_login_goes_from_authorize_to_token_to_me_with_awkward_characters_intact() {
    let (exact, http) = spawn().await;

    let response = authorize(&exact, &http, &valid_query()).await;
    let location = response.headers()[LOCATION]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        location.starts_with(&format!("{CALLBACK}&code=")),
        "code appended to the registered query: {location}"
    );
    let raw_code = location
        .split("&code=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .unwrap_or_default();
    assert!(
        !raw_code.contains(['!', '+', '/', '=']),
        "percent-encoded in the Location: {raw_code}"
    );
    let params = callback_params(&response);
    assert_eq!(param(&params, "tenant"), Some("acme"));
    assert_eq!(param(&params, "state"), Some(STATE));
    let code = param(&params, "code").expect("code").to_owned();
    assert!(has_awkward_chars(&code), "{code}");

    let response = exchange(&exact, &http, &code).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(content_type(&response).starts_with("application/json"));
    let body = json_of(response).await;
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(
        body["expires_in"],
        Value::String("600".into()),
        "a string, as at Exact"
    );
    let access = body["access_token"].as_str().expect("access token");
    let refresh_token = body["refresh_token"].as_str().expect("refresh token");
    assert!(has_awkward_chars(access) && has_awkward_chars(refresh_token));

    let response = get_me(&exact, &http, Some(access)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let me = json_of(response).await;
    let user = &me["d"]["results"][0];
    let jan = FakeUser::jan();
    assert_eq!(user["UserID"], jan.user_id.as_str());
    assert_eq!(user["UserName"], "jan@example.nl");
    assert_eq!(user["FullName"], "Jan de Vries");
    assert_eq!(user["MiddleName"], "de");
    assert_eq!(user["LanguageCode"], "nl-NL");
    assert_eq!(user["Language"], "NL");
    assert_eq!(user["CurrentDivision"], 123456);
    assert_eq!(user["__metadata"]["type"], "Exact.Web.Api.System.Me");
    assert_eq!(
        user["__metadata"]["uri"],
        format!(
            "{}/api/v1/current/Me(guid'{}')",
            exact.base_url(),
            jan.user_id
        )
    );
    assert!(user["DivisionCustomer"]
        .as_str()
        .is_some_and(|g| Uuid::parse_str(g).is_ok()));
    assert!(user["EmployeeID"]
        .as_str()
        .is_some_and(|g| Uuid::parse_str(g).is_ok()));

    let recorded = exact.token_requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].status, 200);
    assert_eq!(recorded[0].form["code"], code, "decoded exactly");
    assert_eq!(recorded[0].form["client_secret"], SECRET);
    assert_eq!(
        recorded[0].content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(exact.authorize_requests().len(), 1);
    assert_eq!(exact.authorize_requests()[0].query["state"], STATE);
    let me_requests = exact.me_requests();
    assert_eq!(me_requests.len(), 1);
    assert_eq!(me_requests[0].status, 200);
    assert_eq!(
        me_requests[0].authorization.as_deref(),
        Some(format!("Bearer {access}").as_str())
    );
    exact.stop().await;
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_serves_under_a_multi_thread_tokio_runtime_and_stops() {
    let (exact, http) = spawn().await;
    let base = exact.base_url();
    let body = tokens(&exact, &http).await;
    assert!(body["access_token"].is_string());
    exact.stop().await;
    assert!(http
        .get(format!("{base}/api/v1/current/Me"))
        .send()
        .await
        .is_err());
}

#[actix_web::test]
async fn it_serves_under_the_actix_runtime_too() {
    let (exact, http) = spawn().await;
    let body = tokens(&exact, &http).await;
    assert!(body["access_token"].is_string());
    exact.stop().await;
}

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
