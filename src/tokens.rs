//! The JWTs Gatehouse issues (ID and access tokens) and the verification of access tokens it
//! accepts: RS256 only, from the tenant's own published keys, with issuer, audience, expiry and
//! token type checked. Anything else is a rejection, never a panic.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::state::AppState;
use crate::tenancy::TenantHost;

/// `typ` of access tokens (RFC 9068), so an ID token (`JWT`) is never taken as one.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
pub const ID_TOKEN_TYPE: &str = "JWT";
/// Longest token accepted for verification; anything larger is refused unread.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
pub const LEEWAY_SECONDS: u64 = 30;

/// Claims of an access token (for `/userinfo` or the management API).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub iat: i64,
    pub exp: i64,
    #[serde(default)]
    pub scope: String,
    pub azp: String,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gty: Option<String>,
}

impl AccessClaims {
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split_whitespace()
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Why a token was refused (the message is safe to show).
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("{0}")]
    Invalid(&'static str),
    #[error("could not check the token")]
    Internal(#[from] anyhow::Error),
}

/// Parsed public keys by (tenant, kid), like the key ring for private keys.
#[derive(Default)]
pub struct VerifyingKeys {
    parsed: RwLock<HashMap<(Uuid, String), Arc<DecodingKey>>>,
}

pub async fn verify_access_token(
    state: &AppState,
    tenant: &TenantHost,
    token: &str,
    audience: &str,
) -> Result<AccessClaims, Rejection> {
    let kid = check_header(token)?;
    let key = decoding_key(state, tenant.id(), &kid).await?;
    verify_with_key(token, &key, tenant.issuer.as_str(), audience)
}

/// The checks made before any key is looked up: size, a well-formed header, RS256 only, no
/// header naming its own key, the access token `typ`. Returns the `kid` to look up.
pub fn check_header(token: &str) -> Result<String, Rejection> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Rejection::Invalid("token too large"));
    }
    let header =
        jsonwebtoken::decode_header(token).map_err(|_| Rejection::Invalid("malformed token"))?;
    if header.alg != Algorithm::RS256 {
        return Err(Rejection::Invalid("only RS256 tokens are accepted"));
    }
    if header.jku.is_some() || header.x5u.is_some() || header.jwk.is_some() || header.x5c.is_some()
    {
        return Err(Rejection::Invalid("tokens may not name their own keys"));
    }
    if header.typ.as_deref() != Some(ACCESS_TOKEN_TYPE) {
        return Err(Rejection::Invalid("not an access token"));
    }
    header.kid.ok_or(Rejection::Invalid("token has no kid"))
}

/// Checks signature, issuer, audience and expiry of a token whose header passed
/// [`check_header`], with the key its `kid` named.
pub fn verify_with_key(
    token: &str,
    key: &DecodingKey,
    issuer: &str,
    audience: &str,
) -> Result<AccessClaims, Rejection> {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = LEEWAY_SECONDS;
    let data = jsonwebtoken::decode::<AccessClaims>(token, key, &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        Rejection::Invalid(match e.kind() {
            ErrorKind::ExpiredSignature => "token expired",
            ErrorKind::InvalidIssuer => "token issued by another issuer",
            ErrorKind::InvalidAudience => "token is for another audience",
            ErrorKind::InvalidSignature => "invalid signature",
            ErrorKind::MissingRequiredClaim(_) => "token lacks a required claim",
            _ => "invalid token",
        })
    })?;
    Ok(data.claims)
}

/// The tenant's published key with this kid (current, or retired within the retention).
async fn decoding_key(
    state: &AppState,
    tenant_id: Uuid,
    kid: &str,
) -> Result<Arc<DecodingKey>, Rejection> {
    let published = state
        .cache
        .published_keys(&state.pool, tenant_id)
        .await
        .map_err(|e| Rejection::Internal(e.into()))?;
    let Some(stored) = published.iter().find(|k| k.kid == kid).cloned() else {
        return Err(Rejection::Invalid("unknown signing key"));
    };
    let cache_key = (tenant_id, stored.kid.clone());
    if let Some(key) = state
        .verifying_keys
        .parsed
        .read()
        .expect("verifying keys lock")
        .get(&cache_key)
    {
        return Ok(key.clone());
    }
    let jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(stored.public_jwk).map_err(|e| Rejection::Internal(e.into()))?;
    let key = Arc::new(DecodingKey::from_jwk(&jwk).map_err(|e| Rejection::Internal(e.into()))?);
    let mut parsed = state
        .verifying_keys
        .parsed
        .write()
        .expect("verifying keys lock");
    if parsed.len() > 10_000 {
        parsed.clear();
    }
    parsed.insert(cache_key, key.clone());
    Ok(key)
}
