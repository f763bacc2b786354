//! A bearer token as the management API and `/userinfo` see it: the header checks and the
//! signature and claims check with a real key. Anything is a `Rejection`, never a panic; a
//! random token never verifies.
#![no_main]

use std::sync::OnceLock;

use gatehouse::crypto::signing::{generate_key, SigningAlg, VerifyingKey};
use gatehouse::services::tokens::{check_header, verify_with_key};
use libfuzzer_sys::fuzz_target;

/// A key of each algorithm Gatehouse signs with.
fn keys() -> &'static [VerifyingKey] {
    static KEYS: OnceLock<Vec<VerifyingKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        SigningAlg::ALL
            .into_iter()
            .map(|alg| VerifyingKey::from_jwk(&generate_key(alg).public_jwk).expect("a key"))
            .collect()
    })
}

fuzz_target!(|token: &str| {
    let _ = check_header(token);
    for key in keys() {
        assert!(verify_with_key(
            token,
            key,
            "https://acme.example/",
            "https://acme.example/api/v2/"
        )
        .is_err());
    }
});
