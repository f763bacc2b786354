//! `/api/v2/keys/signing`: the tenant's token signing keys (public halves only), their rotation
//! and revocation. A rotated-out key stays in the JWKS until every token it signed has expired,
//! unless revoked (a leaked key): then it leaves at once and nothing it signed verifies.

use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{Postgres, Transaction};

use super::auth::ManagementToken;
use super::idempotency;
use super::reply::{json_body, Reply};
use super::users::date;
use crate::db;
use crate::db::signing_keys::StoredKey;
use crate::error::ApiError;
use crate::services;
use crate::state::AppState;

/// RFC 7638 thumbprint of a JWK: SHA-256 of its required members in lexical order.
fn thumbprint(jwk: &Value) -> Option<String> {
    let member = |name: &str| jwk.get(name)?.as_str();
    let canonical = match member("kty")? {
        "RSA" => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            member("e")?,
            member("n")?
        ),
        "EC" => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            member("crv")?,
            member("x")?,
            member("y")?
        ),
        _ => return None,
    };
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// A key as shown: never the private half (it is not even read out of its sealed column).
#[derive(Serialize)]
struct KeyBody {
    kid: String,
    /// The one algorithm it signs with.
    alg: String,
    current: bool,
    previous: bool,
    revoked: bool,
    revoked_at: Option<String>,
    published: bool,
    current_since: String,
    current_until: Option<String>,
    thumbprint: Option<String>,
    /// The public JWK as stored.
    jwk: Value,
}

impl KeyBody {
    fn new(key: StoredKey, published: bool) -> Self {
        KeyBody {
            current: key.state == "current",
            previous: key.state == "previous",
            revoked: key.state == "revoked",
            revoked_at: key.revoked_at.as_ref().map(date),
            published,
            current_since: date(&key.created_at),
            current_until: key.retired_at.as_ref().map(date),
            thumbprint: thumbprint(&key.public_jwk),
            kid: key.kid,
            alg: key.alg,
            jwk: key.public_jwk,
        }
    }
}

/// The answer to a rotation: the key that signs from now on.
#[derive(Serialize)]
struct RotatedKey {
    kid: String,
}

async fn keys(state: &AppState, token: &ManagementToken) -> Result<Vec<KeyBody>, ApiError> {
    let tenant_id = token.tenant_id();
    let published: Vec<String> = db::signing_keys::published(
        &state.pool,
        tenant_id,
        crate::crypto::signing::retired_key_retention(),
    )
    .await?
    .into_iter()
    .map(|k| k.kid)
    .collect();
    Ok(db::signing_keys::all(&state.pool, tenant_id)
        .await?
        .into_iter()
        .map(|k| {
            let is_published = published.contains(&k.kid);
            KeyBody::new(k, is_published)
        })
        .collect())
}

pub async fn list(
    token: ManagementToken,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    token.require("read:signing_keys")?;
    Ok(Reply::ok(json_body(&keys(&state, &token).await?)).into_response())
}

pub async fn get(
    token: ManagementToken,
    state: web::Data<AppState>,
    kid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    token.require("read:signing_keys")?;
    keys(&state, &token)
        .await?
        .into_iter()
        .find(|k| k.kid == *kid)
        .map(|k| Reply::ok(json_body(&k)).into_response())
        .ok_or_else(|| {
            ApiError::not_found("inexistent_signing_key", "The signing key does not exist")
        })
}

/// `POST /keys/signing/rotate`: a new key signs from now on; 201 with its kid.
pub async fn rotate(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    token.require("create:signing_keys")?;
    token.require("update:signing_keys")?;
    let work = async |tx: &mut Transaction<'static, Postgres>| {
        let kids =
            services::keys::rotate_by_in(tx, &state.sealer, token.tenant_id(), &token.actor())
                .await
                .map_err(ApiError::internal)?;
        // Auth0 answers the new key's `kid`: here the one of the tenant's default algorithm
        // (each algorithm in use got a new key; GET /keys/signing lists them all).
        let default = token.tenant.tenant.signing_alg.as_str();
        let kid = kids
            .iter()
            .find(|(alg, _)| alg.as_str() == default)
            .unwrap_or(&kids[0])
            .1
            .clone();
        Ok(Reply::created(json_body(&RotatedKey { kid })))
    };
    idempotency::once(&state, &token, &req, b"", work).await
}

/// `PUT /keys/signing/{kid}/revoke` (Auth0's): a previous key leaves the JWKS and verifies
/// nothing from now on. The current key is refused (rotate first); revoking again changes
/// nothing and answers the same.
pub async fn revoke(
    token: ManagementToken,
    state: web::Data<AppState>,
    kid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    token.require("update:signing_keys")?;
    use db::signing_keys::Revocation;
    let outcome =
        services::keys::revoke_by(&state.pool, token.tenant_id(), &kid, &token.actor()).await?;
    match outcome {
        Revocation::Revoked(key) | Revocation::AlreadyRevoked(key) => {
            Ok(Reply::ok(json_body(&KeyBody::new(key, false))).into_response())
        }
        Revocation::Current => Err(ApiError::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            "current_key_not_revocable",
            "The current signing key cannot be revoked: rotate first, then revoke the previous key",
        )),
        Revocation::Unknown => Err(ApiError::not_found(
            "inexistent_signing_key",
            "The signing key does not exist",
        )),
    }
}
