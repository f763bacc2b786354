//! Validating the upstream's ID token as strictly as our own clients validate ours: an
//! algorithm from the allowlist (never `none`, never HMAC: a public key is not a shared
//! secret), a key of that algorithm's type from the upstream's key set, the signature, `iss`
//! equal to the discovered issuer, our client id in `aud` (and in `azp` when there are several
//! audiences), `exp` and `iat` with a small leeway, and the nonce this login sent. Each defect
//! is named, for the login's trace.

use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use super::discovery::{Discovered, Metadata};
use crate::providers::upstream_http::{upstream_text, UpstreamClient};
use crate::providers::{LoginStep, UpstreamError, UpstreamFailure};

/// Clock difference tolerated on `exp`, `nbf` and `iat`.
pub(super) const LEEWAY_SECONDS: u64 = 60;

/// The signature algorithms an upstream ID token may use.
const ALLOWED: &[(&str, Algorithm)] = &[
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("PS256", Algorithm::PS256),
    ("PS384", Algorithm::PS384),
    ("PS512", Algorithm::PS512),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
];

fn defect(description: impl Into<String>) -> UpstreamError {
    UpstreamError::new(
        LoginStep::IdTokenValidation,
        UpstreamFailure::BadAnswer,
        description,
    )
}

/// What the token's header says, read before anything is trusted.
struct RawHeader {
    alg: String,
    kid: Option<String>,
}

fn raw_header(token: &str) -> Result<RawHeader, UpstreamError> {
    let malformed = || defect("the ID token is not a signed JWT (three base64url parts)");
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .map_err(|_| malformed())?;
    let json: Value = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
    Ok(RawHeader {
        alg: json
            .get("alg")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        kid: json.get("kid").and_then(Value::as_str).map(str::to_owned),
    })
}

/// The validated claims of `token`.
pub(super) async fn validate(
    http: &UpstreamClient,
    discovered: &Discovered,
    metadata: &Metadata,
    client_id: &str,
    nonce: Option<&str>,
    token: &str,
) -> Result<Map<String, Value>, UpstreamError> {
    let header = raw_header(token)?;
    let shown_alg: String = header.alg.chars().take(16).collect();
    if header.alg.eq_ignore_ascii_case("none") || header.alg.is_empty() {
        return Err(defect("the ID token is unsigned (alg none)"));
    }
    let Some(&(_, alg)) = ALLOWED.iter().find(|(name, _)| *name == header.alg) else {
        return Err(defect(format!(
            "the ID token's algorithm {shown_alg} is not allowed (HMAC and none never are)"
        )));
    };
    let keys = discovered
        .keys_for(http, &metadata.jwks_uri, header.kid.as_deref())
        .await?;
    let Some(key) = keys.find(header.kid.as_deref()) else {
        return Err(defect(match &header.kid {
            Some(kid) => format!(
                "the ID token is signed with a key ({}) that is not in the provider's key set",
                kid.chars().take(64).collect::<String>()
            ),
            None => "the ID token names no key (kid) and the provider publishes several".to_owned(),
        }));
    };
    if key.alg.as_deref().is_some_and(|a| a != header.alg) || key.key.family() != alg.family() {
        return Err(defect(format!(
            "the ID token's algorithm {shown_alg} does not match the type of the key it names"
        )));
    }
    let mut validation = Validation::new(alg);
    validation.leeway = LEEWAY_SECONDS;
    validation.validate_nbf = true;
    validation.set_issuer(&[metadata.issuer.as_str()]);
    validation.set_audience(&[client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
        .map_err(|e| {
            defect(match e.kind() {
                ErrorKind::InvalidSignature => "the ID token's signature does not verify".to_owned(),
                ErrorKind::ExpiredSignature => "the ID token has expired (exp)".to_owned(),
                ErrorKind::ImmatureSignature => "the ID token is not valid yet (nbf)".to_owned(),
                ErrorKind::InvalidIssuer => format!(
                    "the ID token's issuer (iss) is not the provider's issuer {}",
                    upstream_text(&metadata.issuer, &[])
                ),
                ErrorKind::InvalidAudience => {
                    "the ID token is not for this connection's client id (aud)".to_owned()
                }
                ErrorKind::MissingRequiredClaim(c) => format!("the ID token has no {c} claim"),
                ErrorKind::InvalidClaimFormat(c) => format!("the ID token's {c} claim is malformed"),
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => format!(
                    "the ID token's algorithm {shown_alg} does not match the type of the key it names"
                ),
                _ => "the ID token could not be decoded".to_owned(),
            })
        })?
        .claims;
    check_iat(&claims)?;
    check_azp(&claims, client_id)?;
    match (nonce, claims.get("nonce").and_then(Value::as_str)) {
        (Some(sent), Some(got)) if sent == got => {}
        (Some(_), Some(_)) => {
            return Err(defect(
                "the ID token's nonce is not the one this login sent",
            ))
        }
        (Some(_), None) => {
            return Err(defect("the ID token has no nonce, and this login sent one"))
        }
        (None, _) => {}
    }
    match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if !sub.is_empty() && sub.len() <= 255 && !sub.chars().any(char::is_control) => {}
        _ => return Err(defect("the ID token's sub is not a usable user id")),
    }
    Ok(claims)
}

fn check_iat(claims: &Map<String, Value>) -> Result<(), UpstreamError> {
    let Some(iat) = claims.get("iat").and_then(Value::as_f64) else {
        return Err(defect("the ID token has no iat claim"));
    };
    let now = chrono::Utc::now().timestamp() as f64;
    if iat > now + LEEWAY_SECONDS as f64 {
        return Err(defect("the ID token was issued in the future (iat)"));
    }
    Ok(())
}

fn check_azp(claims: &Map<String, Value>, client_id: &str) -> Result<(), UpstreamError> {
    let several = claims
        .get("aud")
        .and_then(Value::as_array)
        .is_some_and(|a| a.len() > 1);
    match claims.get("azp").and_then(Value::as_str) {
        Some(azp) if azp != client_id => Err(defect(
            "the ID token was issued to another party (azp is not this connection's client id)",
        )),
        None if several => Err(defect(
            "the ID token has several audiences and no azp naming this connection's client id",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_read_before_trust() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let token = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64("{}"));
        assert_eq!(raw_header(&token).unwrap().alg, "none");
        assert!(raw_header("a.b").is_err());
        assert!(raw_header("!!.b.c").is_err());
    }

    #[test]
    fn azp_is_required_with_several_audiences() {
        let claims = |v: Value| v.as_object().unwrap().clone();
        assert!(check_azp(&claims(serde_json::json!({"aud": ["c", "other"]})), "c").is_err());
        assert!(check_azp(
            &claims(serde_json::json!({"aud": ["c", "other"], "azp": "c"})),
            "c"
        )
        .is_ok());
        assert!(check_azp(
            &claims(serde_json::json!({"aud": "c", "azp": "other"})),
            "c"
        )
        .is_err());
        assert!(check_azp(&claims(serde_json::json!({"aud": "c"})), "c").is_ok());
    }
}
