//! The credentials a token request presents: HTTP Basic (`client_secret_basic`), the body
//! (`client_secret_post`) or, for public clients, the client id alone; using two methods at
//! once is refused. The login service checks them.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::HttpRequest;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::super::params::Params;
use crate::db::clients::Client;
use crate::error::OAuthError;
use crate::services::login::client_auth::{self, Audit, PresentedClient};
use crate::state::AppState;
use crate::tenancy::TenantHost;

/// Finds and authenticates the client the request presents.
pub async fn authenticate(
    req: &HttpRequest,
    params: &Params,
    tenant: &TenantHost,
    state: &AppState,
    audit: Option<Audit<'_>>,
) -> Result<Arc<Client>, OAuthError> {
    let presented = presented(req, params)?;
    let ip = crate::client_addr::client_ip(req, &state.settings.trusted_proxies);
    Ok(client_auth::authenticate(&state.login(), tenant, presented, ip, audit).await?)
}

fn presented(req: &HttpRequest, params: &Params) -> Result<PresentedClient, OAuthError> {
    let basic = match req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(value) if value.len() > 7 && value[..6].eq_ignore_ascii_case("basic ") => {
            Some(basic_credentials(&value[6..]).ok_or_else(|| OAuthError::invalid_client(true))?)
        }
        Some(_) => {
            return Err(OAuthError::new(
                "invalid_request",
                "unsupported Authorization scheme",
            ))
        }
        None => None,
    };
    let body_secret = params.get("client_secret");
    if basic.is_some() && body_secret.is_some() {
        return Err(OAuthError::new(
            "invalid_request",
            "use one client authentication method, not two",
        ));
    }
    let client_id = match (&basic, params.get("client_id")) {
        (Some((id, _)), Some(body_id)) if id != body_id => {
            return Err(OAuthError::new(
                "invalid_request",
                "client_id differs from the authenticated client",
            ))
        }
        (Some((id, _)), _) => id.clone(),
        (None, Some(id)) => id.to_owned(),
        (None, None) => return Err(OAuthError::invalid_client(false)),
    };
    let uses_basic = basic.is_some();
    Ok(PresentedClient {
        client_id,
        secret: basic.map(|(_, s)| s).or(body_secret.map(str::to_owned)),
        basic: uses_basic,
    })
}

/// The id and secret of an HTTP Basic header's credentials, if well formed.
fn basic_credentials(encoded: &str) -> Option<(String, String)> {
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    // RFC 6749 §2.3.1: both parts are form-urlencoded inside the header.
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((decode(id), decode(secret)))
}
