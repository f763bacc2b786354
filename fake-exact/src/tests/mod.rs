//! The fake's own tests, over real HTTP on loopback: if the fake lies, every test built on it does.
//!
//! Helpers for driving the fake over HTTP live here; the tests are split by what they test.

mod auth;
mod control;
mod login;
mod me;
mod token;

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
