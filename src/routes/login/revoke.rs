//! `POST /oauth/revoke` (RFC 7009, as Auth0 serves it): an application ends the grant behind a
//! refresh token, at sign-out say, so a copy of the token left behind cannot be used. The client
//! authenticates as at `/oauth/token`; as at Auth0, every refresh token of that user for that
//! application ends (Auth0 SDKs document "all Refresh Tokens issued for the same user,
//! application and audience"); other applications' tokens of the user are left alone.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use std::sync::Arc;

use super::token::{authenticate, parse_body, TokenError};
use crate::client_addr::Requester;
use crate::crypto::random::token_hash;
use crate::db;
use crate::db::clients::Client;
use crate::db::events::NewEvent;
use crate::db::tokens::Revocation;
use crate::state::AppState;
use crate::tenancy::TenantHost;

/// The event of a revocation that ended a live grant.
pub const REFRESH_TOKEN_REVOKED: &str = "refresh_token_revoked";

pub async fn post(
    req: HttpRequest,
    body: web::Bytes,
    tenant: TenantHost,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut client = None;
    let res = match handle(&req, &body, &tenant, &state, &mut client).await {
        Ok(()) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .finish(),
        Err(e) => e.response(),
    };
    super::cors::answer(&req, &state, &tenant, client.as_deref(), res).await
}

async fn handle(
    req: &HttpRequest,
    body: &[u8],
    tenant: &TenantHost,
    state: &AppState,
    known: &mut Option<Arc<Client>>,
) -> Result<(), TokenError> {
    let params = parse_body(req, body)?;
    // `token_type_hint` is only a hint (RFC 7009 §2.1): refresh tokens are looked up whatever
    // it says, and an unknown value is ignored.
    let token = params
        .get("token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| TokenError::new("invalid_request", "token is required"))?;
    // A failed authentication here counts towards the lockout but is not logged: revocation
    // has no Auth0 failure event, and an unknown token is no failure.
    let client = authenticate(req, &params, tenant, state, None).await?;
    *known = Some(client.clone());
    let mut tx = state.pool.begin().await?;
    match db::tokens::revoke_presented(&mut *tx, tenant.id(), &token_hash(token), &client.client_id)
        .await?
    {
        // An unknown token is not an error (RFC 7009 §2.2): the client's aim, a token nobody
        // can use, holds. Access and ID tokens land here too: they are self-contained and end
        // within the hour by themselves.
        Revocation::Unknown => Ok(()),
        Revocation::OtherClient => Err(TokenError::new(
            "unauthorized_client",
            "the token was issued to another application",
        )),
        Revocation::Revoked { user_id, live } => {
            if live > 0 {
                let event = NewEvent {
                    event_type: REFRESH_TOKEN_REVOKED,
                    client_id: Some(client.client_id.clone()),
                    user_id: Some(user_id),
                    description: format!("refresh token revoked by {}", client.name),
                    details: json!({ "revoked_refresh_tokens": live }),
                    requester: Requester::of(req, &state.settings.trusted_proxies),
                    ..Default::default()
                };
                db::events::record(&mut *tx, tenant.id(), &event).await?;
            }
            tx.commit().await?;
            Ok(())
        }
    }
}
