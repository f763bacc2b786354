//! `POST /oauth/token`: the body (form-encoded or JSON) parsed, the client authenticated
//! (`client_auth.rs`), and the grant served by its own module: `authorization_code.rs`
//! (with PKCE), `refresh_token.rs` (rotating; reuse revokes the family), `client_credentials.rs`.
//! The grants' decisions are the login service's (`services::login`); this parses and answers.

mod authorization_code;
pub(super) mod client_auth;
mod client_credentials;
mod refresh_token;

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;

use super::params::Params;
use crate::db::clients::Client;
use crate::domain::event_kind::{
    CLIENT_CREDENTIALS_REFUSED, CODE_REDEMPTION_FAILED, REFRESH_TOKEN_REFUSED,
};
use crate::domain::Requester;
use crate::error::OAuthError;
use crate::services::login::client_auth::{check_grant_allowed, Audit};
use crate::services::login::TokenResponse;
use crate::state::AppState;
use crate::tenancy::TenantHost;

pub async fn post(
    req: HttpRequest,
    body: web::Bytes,
    tenant: TenantHost,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut client = None;
    let outcome = handle(&req, &body, &tenant, &state, &mut client).await;
    respond(&req, &state, &tenant, client.as_deref(), outcome.map(Some)).await
}

/// A token endpoint's answer: a success with its body (or none), never cached, or the error
/// in OAuth's shape; either with the cross-origin headers that the client, once it is known,
/// allows.
pub(super) async fn respond<T: Serialize>(
    req: &HttpRequest,
    state: &AppState,
    tenant: &TenantHost,
    client: Option<&Client>,
    outcome: Result<Option<T>, OAuthError>,
) -> HttpResponse {
    let res = match outcome {
        Ok(body) => {
            let mut ok = HttpResponse::Ok();
            ok.insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header((header::PRAGMA, "no-cache"));
            match body {
                Some(body) => ok.json(body),
                None => ok.finish(),
            }
        }
        Err(e) => e.response(),
    };
    super::cors::answer(req, state, tenant, client, res).await
}

/// The request's parameters, from a form-encoded or a JSON body.
pub(super) fn parse_body(req: &HttpRequest, body: &[u8]) -> Result<Params, OAuthError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let text = std::str::from_utf8(body)
        .map_err(|_| OAuthError::new("invalid_request", "the body is not UTF-8"))?;
    let parsed = match mime.as_str() {
        "application/x-www-form-urlencoded" => Params::parse(text),
        "application/json" => {
            let value: Value = serde_json::from_str(text)
                .map_err(|_| OAuthError::new("invalid_request", "the body is not valid JSON"))?;
            Params::from_json(&value)
        }
        _ => {
            return Err(OAuthError::new(
                "invalid_request",
                "the body must be application/x-www-form-urlencoded or application/json",
            ))
        }
    };
    parsed.map_err(|e| OAuthError::new("invalid_request", e.to_string()))
}

/// Answers a token request; `known` is set to the client once it has authenticated (what the
/// answer's cross-origin headers are decided by).
async fn handle(
    req: &HttpRequest,
    body: &[u8],
    tenant: &TenantHost,
    state: &AppState,
    known: &mut Option<Arc<Client>>,
) -> Result<TokenResponse, OAuthError> {
    let params = parse_body(req, body)?;
    let grant_type = params
        .get("grant_type")
        .ok_or_else(|| OAuthError::new("invalid_request", "grant_type is required"))?;
    // The event a refusal is recorded as (Auth0's `feacft`, `fertft`, `feccft`), so a failed
    // client authentication shows among the grant's other failures.
    let refused_event = match grant_type {
        "authorization_code" => CODE_REDEMPTION_FAILED,
        "refresh_token" => REFRESH_TOKEN_REFUSED,
        "client_credentials" => CLIENT_CREDENTIALS_REFUSED,
        _ => {
            return Err(OAuthError::new(
                "unsupported_grant_type",
                "supported grants: authorization_code, refresh_token, client_credentials",
            ))
        }
    };
    let requester = Requester::of(req, &state.settings.trusted_proxies);
    let audit = || Audit {
        event_type: refused_event,
        requester: &requester,
    };
    let cx = state.login();
    let client = client_auth::authenticate(req, &params, tenant, state, Some(audit())).await?;
    *known = Some(client.clone());
    check_grant_allowed(&cx, tenant, &client, grant_type, audit())?;
    match grant_type {
        "authorization_code" => {
            authorization_code::redeem(&cx, &params, &client, tenant, &requester).await
        }
        "refresh_token" => refresh_token::rotate(&cx, &params, &client, tenant, &requester).await,
        _ => client_credentials::grant(&cx, &params, &client, tenant, &requester).await,
    }
}
