//! Browser applications and sign-out: cross-origin calls to `/oauth/token`, `/userinfo` and
//! `/oauth/revoke` from an application's `web_origins` only, and `/oauth/revoke` (RFC 7009).
//!
//! One module per capability; the web origins and SPA login helpers they share are here.

mod cors;
mod revocation;
mod web_message;

use gatehouse::services::{self, Actor};
use reqwest::Method;

use crate::helpers::*;
use crate::login::*;

const SPA_ORIGIN: &str = "https://spa.example.com";
const OTHER_ORIGIN: &str = "https://evil.example.net";

/// Lists `origin` (given with a trailing `/`, kept without) as the web origin of the setup's SPA.
async fn set_spa_web_origin(s: &LoginSetup, origin: &str) {
    let input = services::clients::ClientInput {
        web_origins: Some(vec![format!("{origin}/")]),
        ..Default::default()
    };
    let client = s
        .app
        .change_config(services::clients::update(
            &s.app.pool,
            s.tenant.tenant_id,
            &s.spa.client_id,
            &input,
            None,
            &Actor::named("test"),
        ))
        .await
        .unwrap();
    assert_eq!(client.web_origins, [origin], "kept as an origin");
}

/// The SPA runs on its own origin.
async fn with_web_origin(s: &LoginSetup) {
    set_spa_web_origin(s, SPA_ORIGIN).await;
}

async fn preflight(s: &LoginSetup, path: &str, origin: &str, method: &str) -> reqwest::Response {
    s.app
        .http
        .request(Method::OPTIONS, s.app.tenant_url(&s.tenant, path))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "content-type,auth0-client",
        )
        .send()
        .await
        .unwrap()
}

fn allowed_origin(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned())
}

/// A PKCE login of the SPA: its code.
async fn spa_code(s: &LoginSetup) -> String {
    spa_code_with(s, "openid profile").await
}

async fn spa_code_with(s: &LoginSetup, scope: &str) -> String {
    let res = login(
        s,
        &s.spa,
        &[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("scope", scope),
        ],
    )
    .await;
    location_params(&res).1["code"].clone()
}

async fn redeem_from(s: &LoginSetup, code: &str, origin: Option<&str>) -> reqwest::Response {
    let mut req = s
        .app
        .http
        .post(s.app.tenant_url(&s.tenant, "/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &s.spa.callback),
            ("client_id", &s.spa.client_id),
            ("code_verifier", VERIFIER),
        ]);
    if let Some(origin) = origin {
        req = req.header("origin", origin);
    }
    req.send().await.unwrap()
}
