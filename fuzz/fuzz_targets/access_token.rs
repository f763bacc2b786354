//! A bearer token as the management API and `/userinfo` see it: the header checks and the
//! signature and claims check with a real key. Anything is a `Rejection`, never a panic; a
//! random token never verifies.
#![no_main]

use std::sync::OnceLock;

use gatehouse::crypto::signing::generate_key;
use gatehouse::services::tokens::{check_header, verify_with_key};
use jsonwebtoken::DecodingKey;
use libfuzzer_sys::fuzz_target;

fn key() -> &'static DecodingKey {
    static KEY: OnceLock<DecodingKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(generate_key().public_jwk).expect("a JWK");
        DecodingKey::from_jwk(&jwk).expect("a key")
    })
}

fuzz_target!(|token: &str| {
    let _ = check_header(token);
    assert!(verify_with_key(
        token,
        key(),
        "https://acme.example/",
        "https://acme.example/api/v2/"
    )
    .is_err());
});
