//! `POST /api/oauth2/token`: code exchange and refresh, answered in Exact's quirky shapes.
//!
//! Failure answers deliberately differ the way Exact's do: an unknown code or refresh token
//! gets plain-text `Bad Request`, a reused or expired one RFC 6749 JSON. Clients must cope
//! with both, so the fake makes both reachable deterministically.

use std::collections::BTreeMap;

use actix_web::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::header_string;
use super::state::{CodeError, RefreshError, Shared, State, TokenPair, ACCESS_TTL};
use super::{RecordedTokenRequest, TokenMode};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/oauth2/token", web::post().to(token));
}

/// Exact's description for a code it will not exchange (reused, expired, wrong).
pub(super) const CHAIN_ID_DESCRIPTION: &str =
    "Token is not allowed, because of invalid or empty chainId";

/// Big enough that a client reading without a cap notices; the value of `Huge`.
const HUGE_BODY_BYTES: usize = 5 * 1024 * 1024;

async fn token(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    // Parsed whatever the Content-Type says, so even a refused request is recorded in full.
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let mut recorded = RecordedTokenRequest {
        content_type: header_string(req.headers(), CONTENT_TYPE),
        authorization_header: header_string(req.headers(), AUTHORIZATION),
        form: pairs.iter().cloned().collect(),
        status: 0,
    };

    let mode = shared
        .lock()
        .expect("fake Exact state lock poisoned")
        .token_mode
        .clone();
    let response = match canned(&mode) {
        Some(response) => response,
        None => {
            if let TokenMode::Slow(delay) = mode {
                tokio::time::sleep(delay).await;
            }
            let mut state = shared.lock().expect("fake Exact state lock poisoned");
            exchange(&mut state, recorded.content_type.as_deref(), &pairs)
        }
    };

    recorded.status = response.status().as_u16();
    // Never the secret, code or tokens: only what says which client tried what.
    let field = |name: &str| recorded.form.get(name).map(String::as_str).unwrap_or("");
    tracing::info!(
        client.id = %field("client_id"),
        grant_type = %field("grant_type"),
        http.status = recorded.status,
        "fake Exact token request"
    );
    shared
        .lock()
        .expect("fake Exact state lock poisoned")
        .token_requests
        .push(recorded);
    response
}

/// The answer a misbehaving Exact would give, or `None` to process the request normally.
fn canned(mode: &TokenMode) -> Option<HttpResponse> {
    let response = match mode {
        TokenMode::Ok | TokenMode::Slow(_) => return None,
        TokenMode::Status500 => HttpResponse::InternalServerError()
            .content_type("text/html; charset=utf-8")
            .body("<html><body><h1>500 - Internal server error.</h1></body></html>"),
        TokenMode::Html => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(
                "<!DOCTYPE html><html><head><title>Exact Online</title></head>\
                 <body><p>Exact Online is being updated. Please try again later.</p></body></html>",
            ),
        TokenMode::GarbageJson => HttpResponse::Ok()
            .content_type("application/json")
            .body("{\"access_token\": \"unterminated"),
        TokenMode::NoAccessToken => json_response(
            StatusCode::OK,
            json!({"token_type": "bearer", "expires_in": "600"}),
        ),
        TokenMode::PlainBadRequest => plain_bad_request(),
        TokenMode::InvalidGrant => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            Some(CHAIN_ID_DESCRIPTION),
        ),
        TokenMode::Huge => {
            // A well-formed success padded out, so a client that reads it all would "succeed":
            // only a body-size cap makes it fail, which is what the tests want to see.
            let mut body = String::with_capacity(HUGE_BODY_BYTES + 200);
            body.push_str("{\"access_token\":\"AAEAAhuge!token*+/==\",\"token_type\":\"bearer\",");
            body.push_str(
                "\"expires_in\":\"600\",\"refresh_token\":\"__1P!Ihuge*+/==\",\"padding\":\"",
            );
            body.extend(std::iter::repeat_n('x', HUGE_BODY_BYTES));
            body.push_str("\"}");
            HttpResponse::Ok()
                .content_type("application/json")
                .body(body)
        }
    };
    Some(response)
}

fn exchange(
    state: &mut State,
    content_type: Option<&str>,
    pairs: &[(String, String)],
) -> HttpResponse {
    let is_form = content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("Content-Type must be application/x-www-form-urlencoded"),
        );
    }
    let mut form = BTreeMap::new();
    for (key, value) in pairs {
        // A repeated parameter is ambiguous (RFC 6749 §3.2); refuse rather than guess.
        if form.insert(key.as_str(), value.as_str()).is_some() {
            return plain_bad_request();
        }
    }

    // Exact reads client credentials from the body only; HTTP Basic alone is not enough.
    let (Some(client_id), Some(secret)) = (form.get("client_id"), form.get("client_secret")) else {
        return invalid_client();
    };
    match state.app(client_id) {
        Some(app) if app.client_secret == *secret => {}
        _ => return invalid_client(),
    }

    let issued = match form.get("grant_type").copied() {
        Some("authorization_code") => {
            let code = form.get("code").copied().unwrap_or("");
            let redirect_uri = form.get("redirect_uri").copied().unwrap_or("");
            match state.redeem_code(client_id, code, redirect_uri) {
                Ok(pair) => pair,
                Err(CodeError::Unknown) => return plain_bad_request(),
                Err(CodeError::Reused | CodeError::Expired) => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        Some(CHAIN_ID_DESCRIPTION),
                    )
                }
                Err(CodeError::RedirectMismatch) => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        Some("redirect_uri does not match the authorization request"),
                    )
                }
            }
        }
        Some("refresh_token") => {
            let refresh_token = form.get("refresh_token").copied().unwrap_or("");
            match state.refresh(client_id, refresh_token) {
                Ok(pair) => pair,
                Err(RefreshError::Unknown) => return plain_bad_request(),
                Err(RefreshError::Used(at)) => {
                    let description = format!(
                        "The refresh token expired at {}",
                        at.format("%m/%d/%Y %H:%M:%S")
                    );
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        Some(&description),
                    );
                }
            }
        }
        _ => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", None),
    };
    success(issued)
}

/// Exact's success shape: `expires_in` is a string and `token_type` lowercase.
fn success(pair: TokenPair) -> HttpResponse {
    json_response(
        StatusCode::OK,
        json!({
            "access_token": pair.access_token,
            "token_type": "bearer",
            "expires_in": ACCESS_TTL.as_secs().to_string(),
            "refresh_token": pair.refresh_token,
        }),
    )
}

fn invalid_client() -> HttpResponse {
    oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", None)
}

fn plain_bad_request() -> HttpResponse {
    HttpResponse::BadRequest()
        .content_type("text/plain; charset=utf-8")
        .insert_header((CACHE_CONTROL, "no-store"))
        .body("Bad Request")
}

fn oauth_error(status: StatusCode, error: &str, description: Option<&str>) -> HttpResponse {
    let body = match description {
        Some(description) => json!({"error": error, "error_description": description}),
        None => json!({"error": error}),
    };
    json_response(status, body)
}

fn json_response(status: StatusCode, body: serde_json::Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json; charset=utf-8")
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(body.to_string())
}
