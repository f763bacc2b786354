//! OpenID Connect discovery and the tenant's JWKS (current key plus recently retired ones).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde_json::json;

use super::authorize::SUPPORTED_SCOPES;
use crate::error::ApiError;
use crate::state::AppState;
use crate::tenancy::TenantHost;

pub async fn openid_configuration(tenant: TenantHost) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .json(json!({
            "issuer": tenant.issuer,
            "authorization_endpoint": tenant.url("authorize"),
            "token_endpoint": tenant.url("oauth/token"),
            "userinfo_endpoint": tenant.url("userinfo"),
            "revocation_endpoint": tenant.url("oauth/revoke"),
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "jwks_uri": tenant.url(".well-known/jwks.json"),
            "end_session_endpoint": tenant.url("oidc/logout"),
            "scopes_supported": SUPPORTED_SCOPES,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "form_post", "web_message"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "name", "nickname",
                "given_name", "family_name", "picture", "locale", "updated_at", "email", "email_verified"],
            "authorization_response_iss_parameter_supported": true,
            "request_parameter_supported": false,
        }))
}

pub async fn jwks(
    tenant: TenantHost,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let keys = state.cache.published_keys(&state.pool, tenant.id()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .json(json!({ "keys": keys.iter().map(|k| k.public_jwk.clone()).collect::<Vec<_>>() })))
}
