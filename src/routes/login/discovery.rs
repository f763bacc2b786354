//! OpenID Connect discovery and the tenant's JWKS (current key plus recently retired ones).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::Value;

use super::authorize::SUPPORTED_SCOPES;
use crate::error::ApiError;
use crate::state::AppState;
use crate::tenancy::TenantHost;

/// The OpenID Provider Metadata of a tenant (OpenID Connect Discovery 1.0, section 3).
#[derive(Serialize)]
struct OpenIdConfiguration {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: String,
    revocation_endpoint: String,
    revocation_endpoint_auth_methods_supported: &'static [&'static str],
    jwks_uri: String,
    end_session_endpoint: String,
    scopes_supported: &'static [&'static str],
    response_types_supported: &'static [&'static str],
    response_modes_supported: &'static [&'static str],
    grant_types_supported: &'static [&'static str],
    subject_types_supported: &'static [&'static str],
    id_token_signing_alg_values_supported: &'static [&'static str],
    token_endpoint_auth_methods_supported: &'static [&'static str],
    code_challenge_methods_supported: &'static [&'static str],
    claims_supported: &'static [&'static str],
    authorization_response_iss_parameter_supported: bool,
    request_parameter_supported: bool,
}

/// How clients may authenticate at the token and revocation endpoints.
const CLIENT_AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post", "none"];

impl OpenIdConfiguration {
    fn of(tenant: &TenantHost) -> Self {
        OpenIdConfiguration {
            issuer: tenant.issuer.clone(),
            authorization_endpoint: tenant.url("authorize"),
            token_endpoint: tenant.url("oauth/token"),
            userinfo_endpoint: tenant.url("userinfo"),
            revocation_endpoint: tenant.url("oauth/revoke"),
            revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
            jwks_uri: tenant.url(".well-known/jwks.json"),
            end_session_endpoint: tenant.url("oidc/logout"),
            scopes_supported: SUPPORTED_SCOPES,
            response_types_supported: &["code"],
            response_modes_supported: &["query", "form_post", "web_message"],
            grant_types_supported: &["authorization_code", "refresh_token", "client_credentials"],
            subject_types_supported: &["public"],
            // Each application's ID tokens use one of these (its `jwt_configuration.alg`, or
            // the tenant's default), with the JWKS key of that algorithm.
            id_token_signing_alg_values_supported: &["RS256", "PS256", "ES256"],
            token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
            code_challenge_methods_supported: &["S256"],
            claims_supported: &[
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "name",
                "nickname",
                "given_name",
                "family_name",
                "picture",
                "locale",
                "updated_at",
                "email",
                "email_verified",
            ],
            authorization_response_iss_parameter_supported: true,
            request_parameter_supported: false,
        }
    }
}

/// A JWK Set (RFC 7517, section 5): the public keys, as stored.
#[derive(Serialize)]
struct Jwks<'a> {
    keys: Vec<&'a Value>,
}

pub async fn openid_configuration(tenant: TenantHost) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .json(OpenIdConfiguration::of(&tenant))
}

pub async fn jwks(
    tenant: TenantHost,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let keys = state.cache.published_keys(&state.pool, tenant.id()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .json(Jwks {
            keys: keys.iter().map(|k| &k.public_jwk).collect(),
        }))
}
