//! Random identifiers and opaque tokens, and the hashes under which tokens are stored.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::distributions::Alphanumeric;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

/// An opaque bearer value (codes, refresh tokens, client secrets): `bytes` random bytes,
/// base64url.
pub fn opaque_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// An identifier of `len` alphanumeric characters, after a prefix (`con_`, `cgr_`, ...).
pub fn id_with_prefix(prefix: &str, len: usize) -> String {
    let suffix: String = rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect();
    format!("{prefix}{suffix}")
}

/// Tokens are stored only as their SHA-256: they are high-entropy, so a fast hash is enough
/// and a database dump yields nothing usable.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// base64url SHA-256, the PKCE S256 transform.
pub fn s256(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(value.as_bytes()))
}

/// Constant-time equality for secrets compared in memory.
pub fn secure_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_their_prefix_and_length() {
        let id = id_with_prefix("con_", 16);
        assert!(id.starts_with("con_") && id.len() == 20);
        assert!(id[4..].chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
