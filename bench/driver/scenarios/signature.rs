//! What one RS256 signature costs on this machine, with the backend Gatehouse uses and with the
//! one it could use instead: the reference under the token endpoint's CPU.

use std::time::Instant;

use serde_json::json;

/// What one RS256 signature costs on this machine: the floor under the token endpoint's CPU.
pub(super) async fn rs256_sign_ms(
    key: &gatehouse::crypto::signing::GeneratedKey,
) -> anyhow::Result<f64> {
    let key =
        gatehouse::crypto::signing::SigningKey::from_pkcs8(&key.kid, key.alg, &key.pkcs8_der)?;
    let claims = json!({ "iss": "http://bench.localhost/", "sub": "exact|b0b2c3d4", "aud": "client", "iat": 1, "exp": 2 });
    ms_per_call(400, move || key.sign("JWT", &claims)).await
}

/// Milliseconds per call of `f` on one blocking thread, after a tenth as many warm-up calls.
async fn ms_per_call<T, F>(n: u32, f: F) -> anyhow::Result<f64>
where
    F: Fn() -> T + Send + 'static,
{
    Ok(tokio::task::spawn_blocking(move || {
        for _ in 0..n / 10 {
            std::hint::black_box(f());
        }
        let started = Instant::now();
        for _ in 0..n {
            std::hint::black_box(f());
        }
        started.elapsed().as_secs_f64() * 1000.0 / f64::from(n)
    })
    .await?)
}

/// The same signature with RustCrypto's `rsa` crate, the backend jsonwebtoken's `rust_crypto`
/// feature would use instead of aws-lc: the measurement behind the choice of backend.
pub(super) async fn rs256_sign_ms_rust_crypto(
    key: &gatehouse::crypto::signing::GeneratedKey,
) -> anyhow::Result<f64> {
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::Signer;
    let key = rsa::RsaPrivateKey::from_pkcs8_der(&key.pkcs8_der)?;
    let signer = rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(key);
    let message = b"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwOi8vYmVuY2gubG9jYWxob3N0LyJ9";
    ms_per_call(100, move || signer.sign(message)).await
}
