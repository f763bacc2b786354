//! `POST /oauth/revoke` (RFC 7009, as Auth0 serves it): an application ends the grant behind a
//! refresh token, at sign-out say, so a copy of the token left behind cannot be used. The client
//! authenticates as at `/oauth/token`; as at Auth0, every refresh token of that user for that
//! application ends (Auth0 SDKs document "all Refresh Tokens issued for the same user,
//! application and audience"); other applications' tokens of the user are left alone.

use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::Arc;

use super::token::client_auth::authenticate;
use super::token::{parse_body, respond};
use crate::db::clients::Client;
use crate::domain::Requester;
use crate::error::OAuthError;
use crate::services::login::revocation;
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
    // Revocation answers an empty 200 (RFC 7009 §2.2).
    let outcome = outcome.map(|()| None::<()>);
    respond(&req, &state, &tenant, client.as_deref(), outcome).await
}

async fn handle(
    req: &HttpRequest,
    body: &[u8],
    tenant: &TenantHost,
    state: &AppState,
    known: &mut Option<Arc<Client>>,
) -> Result<(), OAuthError> {
    let params = parse_body(req, body)?;
    // `token_type_hint` is only a hint (RFC 7009 §2.1): refresh tokens are looked up whatever
    // it says, and an unknown value is ignored.
    let token = params
        .get("token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::new("invalid_request", "token is required"))?;
    // A failed authentication here counts towards the lockout but is not logged: revocation
    // has no Auth0 failure event, and an unknown token is no failure.
    let client = authenticate(req, &params, tenant, state, None).await?;
    *known = Some(client.clone());
    let requester = Requester::of(req, &state.settings.trusted_proxies);
    Ok(revocation::revoke(&state.login(), tenant, &client, token, &requester).await?)
}
