//! RS256 signing keys: generation, the public JWK, and signing a JWT with a key parsed once.
//!
//! Tokens are signed here directly with aws-lc-rs rather than through `jsonwebtoken`, because
//! the latter parses the private key again on every call, which doubles the cost of a login
//! (see DESIGN.md). Verification (of management API tokens) uses `jsonwebtoken`.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use serde_json::json;

/// A parsed private key, ready to sign.
pub struct SigningKey {
    kid: String,
    key_pair: RsaKeyPair,
    rng: SystemRandom,
}

/// A freshly generated key: the private key (PKCS#8 DER, to be sealed) and its public JWK.
pub struct GeneratedKey {
    pub kid: String,
    pub pkcs8_der: Vec<u8>,
    pub public_jwk: serde_json::Value,
}

/// How long a retired key stays in the JWKS: longer than any token it signed lives.
pub fn retired_key_retention() -> chrono::Duration {
    chrono::Duration::hours(25)
}

pub fn generate_key() -> GeneratedKey {
    use aws_lc_rs::encoding::AsDer;
    let key_pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA-2048 generation succeeds");
    let pkcs8 = key_pair
        .as_der()
        .expect("a generated key serialises")
        .as_ref()
        .to_vec();
    let kid = crate::crypto::random::opaque_token(12);
    let public_jwk = public_jwk(&kid, &key_pair);
    GeneratedKey {
        kid,
        pkcs8_der: pkcs8,
        public_jwk,
    }
}

fn public_jwk(kid: &str, key_pair: &RsaKeyPair) -> serde_json::Value {
    let public = key_pair.public_key();
    json!({
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": kid,
        "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
        "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
    })
}

#[derive(Debug, thiserror::Error)]
#[error("stored signing key is not a valid RSA PKCS#8 key")]
pub struct BadKey;

impl SigningKey {
    pub fn from_pkcs8(kid: &str, der: &[u8]) -> Result<Self, BadKey> {
        let key_pair = RsaKeyPair::from_pkcs8(der).map_err(|_| BadKey)?;
        Ok(SigningKey {
            kid: kid.to_owned(),
            key_pair,
            rng: SystemRandom::new(),
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// A compact JWS (RS256) of `claims`, with `typ` as given (`JWT` or `at+jwt`).
    pub fn sign<C: Serialize>(&self, typ: &str, claims: &C) -> String {
        let header = json!({ "alg": "RS256", "typ": typ, "kid": self.kid });
        let mut message = URL_SAFE_NO_PAD.encode(header.to_string());
        message.push('.');
        message.push_str(
            &URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise to JSON")),
        );
        let mut signature = vec![0u8; self.key_pair.public_modulus_len()];
        self.key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                message.as_bytes(),
                &mut signature,
            )
            .expect("RSA signing with a valid key cannot fail");
        message.push('.');
        message.push_str(&URL_SAFE_NO_PAD.encode(signature));
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};

    #[test]
    fn signed_tokens_verify_with_the_public_jwk() {
        let generated = generate_key();
        let key = SigningKey::from_pkcs8(&generated.kid, &generated.pkcs8_der).unwrap();
        let token = key.sign(
            "JWT",
            &json!({"sub": "exact|1", "aud": "x", "exp": 4_000_000_000u64}),
        );
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(generated.public_jwk).unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&["x"]);
        let data =
            decode::<serde_json::Value>(&token, &DecodingKey::from_jwk(&jwk).unwrap(), &validation)
                .unwrap();
        assert_eq!(data.claims["sub"], "exact|1");
        assert_eq!(data.header.kid.as_deref(), Some(generated.kid.as_str()));
    }
}
