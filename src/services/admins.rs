//! Creating dashboard admins (CLI and the first-run page): e-mail normalised, password rules
//! checked before hashing, argon2id on the blocking pool.

use secrecy::SecretString;

use super::ServiceError;
use crate::crypto::password;
use crate::db;
use crate::db::admins::Admin;
use crate::domain::FieldError;

/// Lowercased, trimmed, and plausibly an address.
pub fn normalize_email(email: &str) -> Result<String, FieldError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(FieldError::new("email", "must be an e-mail address"))
    }
}

pub async fn create(
    pool: &sqlx::PgPool,
    email: &str,
    password: &SecretString,
    is_operator: bool,
) -> Result<Admin, ServiceError> {
    let email = normalize_email(email)?;
    password::check_password_rules(password).map_err(|m| FieldError::new("password", m))?;
    let password = password.clone();
    let hash = tokio::task::spawn_blocking(move || password::hash_password(&password))
        .await
        .map_err(|e| ServiceError::Internal(e.into()))?;
    match db::admins::insert(pool, &email, &hash, is_operator).await {
        Err(e) if db::is_unique_violation(&e) => Err(ServiceError::Conflict(format!(
            "An admin with the e-mail {email} already exists"
        ))),
        other => Ok(other?),
    }
}
