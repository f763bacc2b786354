//! `GET|POST /userinfo`: the signed-in user's claims for an access token Gatehouse issued.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use crate::db;
use crate::error::OAuthError;
use crate::services::tokens::{is_opaque, open_userinfo_token, verify_access_token, Rejection};
use crate::state::AppState;
use crate::tenancy::TenantHost;

fn unauthorized(description: &str) -> HttpResponse {
    OAuthError::invalid_token(description).response()
}

pub async fn handle(
    req: HttpRequest,
    tenant: TenantHost,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (client_id, res) = answer(&req, &tenant, &state).await;
    // Only a cross-origin request needs the application the token was issued to.
    let client = match (super::cors::origin(&req), client_id) {
        (Some(_), Some(id)) => state
            .cache
            .client(&state.pool, tenant.id(), &id)
            .await
            .ok()
            .flatten(),
        _ => None,
    };
    super::cors::answer(&req, &state, &tenant, client.as_deref(), res).await
}

/// The answer, and the application the presented token was issued to (once it is verified).
async fn answer(
    req: &HttpRequest,
    tenant: &TenantHost,
    state: &AppState,
) -> (Option<String>, HttpResponse) {
    let Some(token) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
    else {
        return (None, unauthorized("a Bearer access token is required"));
    };
    let token = token.trim();
    let audience = tenant.url("userinfo");
    // Opaque tokens are what logins issue; a JWT for this audience is still accepted (tokens
    // issued before opaque ones were introduced, until they expire).
    let verified = if is_opaque(token) {
        open_userinfo_token(&state.sealer, tenant, token, &audience)
    } else {
        verify_access_token(&state.cache, &state.pool, tenant, token, &audience).await
    };
    let claims = match verified {
        Ok(c) => c,
        Err(Rejection::Invalid(why)) => return (None, unauthorized(why)),
        Err(Rejection::Internal(e)) => {
            return (
                None,
                crate::error::ApiError::internal(e).into_response_plain(),
            )
        }
    };
    let res = match db::users::by_id(&state.pool, tenant.id(), &claims.sub).await {
        Ok(Some(user)) if !user.blocked => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(Value::Object(crate::services::login::user_claims(
                &user,
                &claims.scope,
            ))),
        Ok(Some(_)) => unauthorized("the user is blocked"),
        Ok(None) => unauthorized("the user no longer exists"),
        Err(e) => crate::error::ApiError::internal(e).into_response_plain(),
    };
    (Some(claims.azp), res)
}
