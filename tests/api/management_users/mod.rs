//! `/api/v2/users`, `/api/v2/logs` and `/api/v2/keys/signing`: people who logged in (never
//! their upstream tokens), deletion ending their sessions, the events log (by page and from a
//! checkpoint), and key rotation.
//!
//! One module per resource; the login they start from and what they share are here.

mod logs;
mod signing_keys;
mod stats;
mod users;

use crate::login::{login, login_setup, LoginSetup};
use crate::management_support::*;

const JAN: &str = "exact|b0b2c3d4-0000-4000-8000-000000000001";
const JAN_PATH: &str = "/users/exact%7Cb0b2c3d4-0000-4000-8000-000000000001";

/// A completed login of Jan, and a token with every management scope.
async fn after_login() -> (LoginSetup, String) {
    let s = login_setup().await;
    let res = login(&s, &s.web, &[]).await;
    assert_eq!(res.status(), 302);
    let token = s
        .app
        .management_token(&s.tenant, gatehouse::services::clients::MANAGEMENT_SCOPES)
        .await;
    (s, token)
}

async fn get(s: &LoginSetup, token: &str, path: &str) -> Res {
    let res = s
        .app
        .http
        .get(s.app.tenant_url(&s.tenant, &format!("/api/v2{path}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    into_res(res).await
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
