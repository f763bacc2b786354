//! Signing keys (RS256, PS256, ES256): generation, the public JWK, and signing a JWT with a
//! key parsed once.
//!
//! Tokens are signed here directly with aws-lc-rs rather than through `jsonwebtoken`, because
//! the latter parses the private key again on every call, which doubles the cost of a login
//! (see DESIGN.md). Verification (of management API tokens) uses `jsonwebtoken`.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair as _, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
    RSA_PSS_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use serde_json::json;

/// The algorithms a tenant signs with (JWA names). RS256 is the default; ES256 (P-256) is the
/// cheap one to sign with; PS256 is RSA with the PSS padding. Each key is made for one of
/// them and signs with that one only (RFC 8725 §3.1), so a JWK's `alg` says it all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    Rs256,
    Ps256,
    Es256,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 3] = [SigningAlg::Rs256, SigningAlg::Ps256, SigningAlg::Es256];

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::Rs256 => "RS256",
            SigningAlg::Ps256 => "PS256",
            SigningAlg::Es256 => "ES256",
        }
    }

    pub fn parse(name: &str) -> Option<SigningAlg> {
        SigningAlg::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// The names, for discovery and error messages.
    pub fn names() -> [&'static str; 3] {
        SigningAlg::ALL.map(SigningAlg::as_str)
    }

    /// The same algorithm as `jsonwebtoken` names it, for verification.
    pub fn verifying(self) -> jsonwebtoken::Algorithm {
        match self {
            SigningAlg::Rs256 => jsonwebtoken::Algorithm::RS256,
            SigningAlg::Ps256 => jsonwebtoken::Algorithm::PS256,
            SigningAlg::Es256 => jsonwebtoken::Algorithm::ES256,
        }
    }

    /// The algorithm of a verified token header, if it is one of ours.
    pub fn of_header(alg: jsonwebtoken::Algorithm) -> Option<SigningAlg> {
        SigningAlg::ALL.into_iter().find(|a| a.verifying() == alg)
    }
}

impl std::fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The private half, parsed.
enum KeyPair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A parsed private key, ready to sign with its one algorithm.
pub struct SigningKey {
    kid: String,
    alg: SigningAlg,
    key_pair: KeyPair,
    rng: SystemRandom,
}

/// A freshly generated key: the private key (PKCS#8 DER, to be sealed) and its public JWK.
pub struct GeneratedKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub pkcs8_der: Vec<u8>,
    pub public_jwk: serde_json::Value,
}

/// How long a retired key stays in the JWKS: longer than any token it signed lives.
pub fn retired_key_retention() -> chrono::Duration {
    chrono::Duration::hours(25)
}

pub fn generate_key(alg: SigningAlg) -> GeneratedKey {
    use aws_lc_rs::encoding::AsDer;
    let kid = crate::crypto::random::opaque_token(12);
    let (pkcs8_der, public_jwk) = match alg {
        SigningAlg::Rs256 | SigningAlg::Ps256 => {
            let key_pair =
                RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA-2048 generation succeeds");
            let der = key_pair
                .as_der()
                .expect("a generated key serialises")
                .as_ref()
                .to_vec();
            (der, rsa_jwk(&kid, alg, &key_pair))
        }
        SigningAlg::Es256 => {
            let key_pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .expect("P-256 generation succeeds");
            let der = key_pair
                .to_pkcs8v1()
                .expect("a generated key serialises")
                .as_ref()
                .to_vec();
            (der, ec_jwk(&kid, &key_pair))
        }
    };
    GeneratedKey {
        kid,
        alg,
        pkcs8_der,
        public_jwk,
    }
}

fn rsa_jwk(kid: &str, alg: SigningAlg, key_pair: &RsaKeyPair) -> serde_json::Value {
    let public = key_pair.public_key();
    json!({
        "kty": "RSA",
        "use": "sig",
        "alg": alg.as_str(),
        "kid": kid,
        "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
        "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
    })
}

fn ec_jwk(kid: &str, key_pair: &EcdsaKeyPair) -> serde_json::Value {
    // The uncompressed point: 0x04, then x and y, 32 bytes each.
    let point = key_pair.public_key().as_ref();
    json!({
        "kty": "EC",
        "use": "sig",
        "alg": "ES256",
        "crv": "P-256",
        "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    })
}

#[derive(Debug, thiserror::Error)]
#[error("stored signing key is not a valid PKCS#8 key for its algorithm")]
pub struct BadKey;

/// A published key, parsed to verify with the one algorithm its JWK names: a token whose
/// header names another is refused whatever its signature (no algorithm confusion).
pub struct VerifyingKey {
    pub alg: SigningAlg,
    pub decoding: jsonwebtoken::DecodingKey,
}

impl VerifyingKey {
    pub fn from_jwk(jwk: &serde_json::Value) -> anyhow::Result<Self> {
        let alg = jwk
            .get("alg")
            .and_then(serde_json::Value::as_str)
            .and_then(SigningAlg::parse)
            .ok_or_else(|| {
                anyhow::anyhow!("a stored JWK names no algorithm Gatehouse signs with")
            })?;
        let parsed: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone())?;
        Ok(VerifyingKey {
            alg,
            decoding: jsonwebtoken::DecodingKey::from_jwk(&parsed)?,
        })
    }
}

impl SigningKey {
    pub fn from_pkcs8(kid: &str, alg: SigningAlg, der: &[u8]) -> Result<Self, BadKey> {
        let key_pair = match alg {
            SigningAlg::Rs256 | SigningAlg::Ps256 => {
                KeyPair::Rsa(RsaKeyPair::from_pkcs8(der).map_err(|_| BadKey)?)
            }
            SigningAlg::Es256 => KeyPair::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|_| BadKey)?,
            ),
        };
        Ok(SigningKey {
            kid: kid.to_owned(),
            alg,
            key_pair,
            rng: SystemRandom::new(),
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn alg(&self) -> SigningAlg {
        self.alg
    }

    /// A compact JWS of `claims` with this key's algorithm, with `typ` as given (`JWT` or
    /// `at+jwt`).
    pub fn sign<C: Serialize>(&self, typ: &str, claims: &C) -> String {
        let header = json!({ "alg": self.alg.as_str(), "typ": typ, "kid": self.kid });
        let mut message = URL_SAFE_NO_PAD.encode(header.to_string());
        message.push('.');
        message.push_str(
            &URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise to JSON")),
        );
        let signature = match &self.key_pair {
            KeyPair::Rsa(key_pair) => {
                let padding = match self.alg {
                    SigningAlg::Ps256 => &RSA_PSS_SHA256,
                    _ => &RSA_PKCS1_SHA256,
                };
                let mut signature = vec![0u8; key_pair.public_modulus_len()];
                key_pair
                    .sign(padding, &self.rng, message.as_bytes(), &mut signature)
                    .expect("RSA signing with a valid key cannot fail");
                signature
            }
            // JWS wants the fixed-width r || s (RFC 7518 §3.4), which this signing gives.
            KeyPair::Ec(key_pair) => key_pair
                .sign(&self.rng, message.as_bytes())
                .expect("ECDSA signing with a valid key cannot fail")
                .as_ref()
                .to_vec(),
        };
        message.push('.');
        message.push_str(&URL_SAFE_NO_PAD.encode(signature));
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{decode, DecodingKey, Validation};

    #[test]
    fn signed_tokens_of_every_algorithm_verify_with_the_public_jwk_and_that_algorithm_only() {
        for alg in SigningAlg::ALL {
            let generated = generate_key(alg);
            let key = SigningKey::from_pkcs8(&generated.kid, alg, &generated.pkcs8_der).unwrap();
            let token = key.sign(
                "JWT",
                &json!({"sub": "exact|1", "aud": "x", "exp": 4_000_000_000u64}),
            );
            let jwk: jsonwebtoken::jwk::Jwk =
                serde_json::from_value(generated.public_jwk.clone()).unwrap();
            let decoding = DecodingKey::from_jwk(&jwk).unwrap();
            let mut validation = Validation::new(alg.verifying());
            validation.set_audience(&["x"]);
            let data = decode::<serde_json::Value>(&token, &decoding, &validation).unwrap();
            assert_eq!(data.claims["sub"], "exact|1", "{alg}");
            assert_eq!(data.header.kid.as_deref(), Some(generated.kid.as_str()));
            assert_eq!(data.header.alg, alg.verifying());
            assert_eq!(generated.public_jwk["alg"], alg.as_str());
            // The same key under another algorithm does not verify.
            for other in SigningAlg::ALL.into_iter().filter(|o| *o != alg) {
                let mut validation = Validation::new(other.verifying());
                validation.set_audience(&["x"]);
                assert!(decode::<serde_json::Value>(&token, &decoding, &validation).is_err());
            }
        }
    }

    #[test]
    fn a_key_does_not_open_as_another_algorithm_family() {
        let ec = generate_key(SigningAlg::Es256);
        assert!(SigningKey::from_pkcs8("k", SigningAlg::Rs256, &ec.pkcs8_der).is_err());
        let rsa = generate_key(SigningAlg::Rs256);
        assert!(SigningKey::from_pkcs8("k", SigningAlg::Es256, &rsa.pkcs8_der).is_err());
    }
}
