//! SECURITY.md, /oauth/token: single-use codes bound to client, redirect URI and PKCE; client
//! authentication; rotating refresh tokens whose reuse revokes the family; a lost answer's repeat
//! answered again; logout.
//!
//! One module per part of the token endpoint's rules; the helpers they share are here.

mod client_authentication;
mod codes;
mod logout;
mod lost_answers;
mod refresh_tokens;
mod tenants;

use serde_json::Value;

use crate::helpers::*;
use crate::login::*;

async fn fresh_code(s: &LoginSetup) -> String {
    let res = login(s, &s.web, &[]).await;
    location_params(&res).1["code"].clone()
}

fn web_form<'a>(s: &'a LoginSetup, code: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &s.web.callback),
        ("client_id", &s.web.client_id),
        ("client_secret", s.web.client_secret.as_deref().unwrap()),
    ]
}

fn refresh_form<'a>(s: &'a LoginSetup, token: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", token),
        ("client_id", &s.web.client_id),
        ("client_secret", s.web.client_secret.as_deref().unwrap()),
    ]
}

async fn error_of(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    assert_eq!(
        res.headers()["cache-control"],
        "no-store",
        "every token answer is no-store"
    );
    let body: Value = res.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}
