//! The tokens Gatehouse issues and the verification of access tokens it accepts. ID tokens and
//! management API access tokens are RS256 JWTs checked against the tenant's own published keys
//! (issuer, audience, expiry and token type); access tokens for `/userinfo` are opaque, as
//! Auth0's are when no API audience is asked for: the claims sealed (AES-256-GCM) under the
//! master key and bound to the tenant, so only this deployment can read them and issuing one
//! costs microseconds instead of an RSA signature. Anything else is a rejection, never a panic.

use std::sync::Arc;

use jsonwebtoken::Validation;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::cache::ConfigCache;
use crate::crypto::seal::{SealContext, Sealer};
use crate::crypto::signing::{SigningAlg, VerifyingKey};
use crate::services::hosts::TenantHost;

pub use crate::crypto::claims::{
    AccessClaims, Audience, ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE, LEEWAY_SECONDS,
};

/// Longest token accepted for verification; anything larger is refused unread.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Why a token was refused (the message is safe to show).
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("{0}")]
    Invalid(&'static str),
    #[error("could not check the token")]
    Internal(#[from] anyhow::Error),
}

/// Seals the claims of a `/userinfo` access token into an opaque bearer token (its text uses
/// only RFC 6750 `b64token` characters).
pub fn seal_userinfo_token(sealer: &Sealer, tenant_id: Uuid, claims: &AccessClaims) -> String {
    let json = serde_json::to_vec(claims).expect("access claims serialise");
    sealer.seal(&json, &SealContext::userinfo_token(tenant_id))
}

/// Whether a presented token is an opaque one (sealed) rather than a JWT. A JWT starts with its
/// base64url header (`eyJ`), a sealed value with its version.
pub fn is_opaque(token: &str) -> bool {
    token.starts_with("v1.")
}

/// Opens an opaque `/userinfo` access token and checks issuer, audience and expiry, as for a
/// JWT. A token of another tenant, a forged or altered one fail to open.
pub fn open_userinfo_token(
    sealer: &Sealer,
    tenant: &TenantHost,
    token: &str,
    audience: &str,
) -> Result<AccessClaims, Rejection> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Rejection::Invalid("token too large"));
    }
    let json = sealer
        .open(token, &SealContext::userinfo_token(tenant.id()))
        .map_err(|_| Rejection::Invalid("invalid token"))?;
    let claims: AccessClaims =
        serde_json::from_slice(&json).map_err(|_| Rejection::Invalid("invalid token"))?;
    if claims.iss != tenant.issuer.as_str() {
        return Err(Rejection::Invalid("token issued by another issuer"));
    }
    let for_audience = match &claims.aud {
        Audience::One(a) => a == audience,
        Audience::Many(all) => all.iter().any(|a| a == audience),
    };
    if !for_audience {
        return Err(Rejection::Invalid("token is for another audience"));
    }
    if claims.expired() {
        return Err(Rejection::Invalid("token expired"));
    }
    Ok(claims)
}

/// Verifies a JWT access token for `audience`. A token this node already verified under the
/// tenant's current keys is not verified again (an API client sends the same token for an
/// hour); only its expiry is checked.
pub async fn verify_access_token(
    cache: &ConfigCache,
    pool: &PgPool,
    tenant: &TenantHost,
    token: &str,
    audience: &str,
) -> Result<AccessClaims, Rejection> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Rejection::Invalid("token too large"));
    }
    let digest: [u8; 32] = Sha256::new()
        .chain_update(audience)
        .chain_update([0])
        .chain_update(token)
        .finalize()
        .into();
    if let Some(claims) = cache.verified_token(tenant.id(), digest) {
        if claims.expired() {
            return Err(Rejection::Invalid("token expired"));
        }
        return Ok((*claims).clone());
    }
    let version = cache.version(tenant.id());
    let kid = check_header(token)?;
    let key = verifying_key(cache, pool, tenant.id(), &kid).await?;
    let claims = verify_with_key(token, &key, tenant.issuer.as_str(), audience)?;
    cache.remember_verified(tenant.id(), digest, version, Arc::new(claims.clone()));
    Ok(claims)
}

/// The checks made before any key is looked up: size, a well-formed header, an algorithm
/// Gatehouse signs with (RS256, PS256, ES256: never `none` or HMAC), no header naming its own
/// key, the access token `typ`. Returns the `kid` to look up; that key's own algorithm must
/// then be the header's ([`verify_with_key`]).
pub fn check_header(token: &str) -> Result<String, Rejection> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Rejection::Invalid("token too large"));
    }
    let header =
        jsonwebtoken::decode_header(token).map_err(|_| Rejection::Invalid("malformed token"))?;
    if SigningAlg::of_header(header.alg).is_none() {
        return Err(Rejection::Invalid(
            "only RS256, PS256 and ES256 tokens are accepted",
        ));
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
/// [`check_header`], with the key its `kid` named, under that key's one algorithm: a header
/// naming another (an ES256 key's token presented as RS256, say) is refused.
pub fn verify_with_key(
    token: &str,
    key: &VerifyingKey,
    issuer: &str,
    audience: &str,
) -> Result<AccessClaims, Rejection> {
    let mut validation = Validation::new(key.alg.verifying());
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = LEEWAY_SECONDS;
    let data =
        jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            Rejection::Invalid(match e.kind() {
                ErrorKind::InvalidAlgorithm => "token signed with another algorithm than its key's",
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

/// The applications an `id_token_hint` (RP-initiated logout) was issued to. Signature, issuer
/// and the ID token type are checked, so a hint this tenant did not issue names nobody; expiry
/// is not, since logouts usually come after the ID token expired (OpenID Connect RP-Initiated
/// Logout §2).
pub async fn id_token_hint_audience(
    cache: &ConfigCache,
    pool: &PgPool,
    tenant: &TenantHost,
    token: &str,
) -> Result<Vec<String>, Rejection> {
    #[derive(Deserialize)]
    struct Hint {
        aud: Audience,
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Rejection::Invalid("token too large"));
    }
    let header =
        jsonwebtoken::decode_header(token).map_err(|_| Rejection::Invalid("malformed token"))?;
    if SigningAlg::of_header(header.alg).is_none()
        || header.typ.as_deref() != Some(ID_TOKEN_TYPE)
        || header.jku.is_some()
        || header.x5u.is_some()
        || header.jwk.is_some()
        || header.x5c.is_some()
    {
        return Err(Rejection::Invalid("not an ID token of this tenant"));
    }
    let kid = header.kid.ok_or(Rejection::Invalid("token has no kid"))?;
    let key = verifying_key(cache, pool, tenant.id(), &kid).await?;
    let mut validation = Validation::new(key.alg.verifying());
    validation.set_issuer(&[tenant.issuer.as_str()]);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["iss", "aud", "sub"]);
    let hint = jsonwebtoken::decode::<Hint>(token, &key.decoding, &validation)
        .map_err(|_| Rejection::Invalid("not an ID token of this tenant"))?;
    Ok(match hint.claims.aud {
        Audience::One(aud) => vec![aud],
        Audience::Many(auds) => auds,
    })
}

/// The tenant's published key with this kid (current, or retired within the retention).
async fn verifying_key(
    cache: &ConfigCache,
    pool: &PgPool,
    tenant_id: Uuid,
    kid: &str,
) -> Result<Arc<VerifyingKey>, Rejection> {
    let published = cache
        .published_keys(pool, tenant_id)
        .await
        .map_err(|e| Rejection::Internal(e.into()))?;
    let Some(stored) = published.iter().find(|k| k.kid == kid) else {
        return Err(Rejection::Invalid("unknown signing key"));
    };
    cache
        .verifying_keys
        .of(tenant_id, stored)
        .map_err(Rejection::Internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::seal::MasterKey;
    use crate::db::tenants::Tenant;

    fn tenant(slug: &str) -> TenantHost {
        TenantHost {
            tenant: Tenant {
                tenant_id: Uuid::new_v4(),
                slug: slug.into(),
                display_name: slug.into(),
                signing_alg: "RS256".into(),
                created_at: chrono::Utc::now(),
            },
            host: format!("{slug}.example.com"),
            issuer: format!("https://{slug}.example.com/"),
        }
    }

    fn claims(t: &TenantHost, exp_in: i64) -> AccessClaims {
        let now = chrono::Utc::now().timestamp();
        AccessClaims {
            iss: t.issuer.clone(),
            sub: "exact|1".into(),
            aud: Audience::Many(vec![t.url("userinfo")]),
            iat: now,
            exp: now + exp_in,
            scope: "openid".into(),
            azp: "client".into(),
            jti: "j".into(),
            gty: None,
        }
    }

    fn sealer() -> Sealer {
        Sealer::new(MasterKey::from_bytes(&[7u8; 32]).expect("32 bytes"), vec![])
    }

    #[test]
    fn an_opaque_token_opens_only_at_its_tenant_for_its_audience_until_it_expires() {
        let sealer = sealer();
        let (a, b) = (tenant("a"), tenant("b"));
        let token = seal_userinfo_token(&sealer, a.id(), &claims(&a, 3600));
        assert!(is_opaque(&token));
        let opened = open_userinfo_token(&sealer, &a, &token, &a.url("userinfo")).unwrap();
        assert_eq!(opened.sub, "exact|1");
        let refused = |t: &TenantHost, token: &str, audience: &str| {
            matches!(
                open_userinfo_token(&sealer, t, token, audience),
                Err(Rejection::Invalid(_))
            )
        };
        assert!(refused(&b, &token, &b.url("userinfo")), "another tenant");
        assert!(refused(&a, &token, &a.url("api/v2/")), "another audience");
        let expired = seal_userinfo_token(&sealer, a.id(), &claims(&a, -3600));
        assert!(refused(&a, &expired, &a.url("userinfo")), "expired");
        // Another sealed value of the same tenant (an upstream secret, say) is no token.
        let other = sealer.seal(
            &serde_json::to_vec(&claims(&a, 3600)).unwrap(),
            &SealContext::new(a.id(), "connection:con_1:client_secret"),
        );
        assert!(refused(&a, &other, &a.url("userinfo")), "other purpose");
        // Sealed under a master key this node does not have.
        let foreign = seal_userinfo_token(
            &Sealer::new(MasterKey::from_bytes(&[9u8; 32]).unwrap(), vec![]),
            a.id(),
            &claims(&a, 3600),
        );
        assert!(refused(&a, &foreign, &a.url("userinfo")), "foreign key");
        assert!(
            refused(&a, &"v1.".repeat(5000), &a.url("userinfo")),
            "oversized"
        );
    }
}
