//! Admin password hashing: argon2id at OWASP's minimum cost, run on the blocking pool.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 1024;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks the length rule before any hashing, so an oversized input costs nothing.
pub fn check_password_rules(password: &SecretString) -> Result<(), String> {
    let chars = password.expose_secret().chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(format!(
            "password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
        ));
    }
    Ok(())
}

pub fn hash_password(password: &SecretString) -> String {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .expect("argon2 hashing with valid parameters cannot fail")
        .to_string()
}

/// Verifies against `stored`, or against a dummy hash when there is no such admin, so an
/// unknown e-mail costs as much as a wrong password.
pub fn verify_password(password: &SecretString, stored: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy =
        DUMMY.get_or_init(|| hash_password(&SecretString::from("dummy password".to_owned())));
    let (hash, real) = match stored {
        Some(h) => (h, true),
        None => (dummy.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let ok = argon2()
        .verify_password(password.expose_secret().as_bytes(), &parsed)
        .is_ok();
    ok && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_the_right_password() {
        let pw = SecretString::from("correct horse".to_owned());
        let hash = hash_password(&pw);
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password(&pw, Some(&hash)));
        assert!(!verify_password(
            &SecretString::from("wrong horse".to_owned()),
            Some(&hash)
        ));
        assert!(!verify_password(&pw, None));
    }

    #[test]
    fn password_length_rules() {
        assert!(check_password_rules(&SecretString::from("short".to_owned())).is_err());
        assert!(check_password_rules(&SecretString::from("x".repeat(1025))).is_err());
        assert!(check_password_rules(&SecretString::from("long enough".to_owned())).is_ok());
    }
}
