//! Dashboard admins: creating them (CLI, the first-run page, invitations), checking their
//! passwords, and their tenant memberships. E-mail normalised, password rules checked before
//! hashing, argon2id on the blocking pool.

use super::Actor;
use secrecy::SecretString;
use uuid::Uuid;

use super::ServiceError;
use crate::crypto::password;
use crate::db;
use crate::db::admins::Admin;
use crate::db::OnConstraint;
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
    db::admins::insert(pool, &email, &hash, is_operator)
        .await
        .on_constraint(|| {
            ServiceError::Conflict(format!("An admin with the e-mail {email} already exists"))
        })
}

/// Hashes on the blocking pool: argon2id takes tens of milliseconds of CPU.
async fn hash(password: &SecretString) -> Result<String, ServiceError> {
    let password = password.clone();
    tokio::task::spawn_blocking(move || password::hash_password(&password))
        .await
        .map_err(|e| ServiceError::Internal(e.into()))
}

/// Creates the first admin, an operator, unless some admin exists already (`Conflict`). Two
/// racing first-run forms cannot both win: the check and the insert hold one advisory lock.
pub async fn create_first_operator(
    pool: &sqlx::PgPool,
    email: &str,
    password: &SecretString,
) -> Result<Admin, ServiceError> {
    let email = normalize_email(email)?;
    password::check_password_rules(password).map_err(|m| FieldError::new("password", m))?;
    let hash = hash(password).await?;
    let mut tx = pool.begin().await?;
    db::admins::lock_first_run(&mut *tx).await?;
    if db::admins::count(&mut *tx).await? > 0 {
        return Err(ServiceError::Conflict(
            "Gatehouse is already set up; sign in instead".into(),
        ));
    }
    let admin = db::admins::insert(&mut *tx, &email, &hash, true).await?;
    tx.commit().await?;
    Ok(admin)
}

/// The admin with this e-mail and password. An unknown e-mail costs the same argon2id work as
/// a wrong password, so the answer and its timing do not tell which it was.
pub async fn authenticate(
    pool: &sqlx::PgPool,
    email: &str,
    password: &SecretString,
) -> Result<Option<Admin>, ServiceError> {
    let admin = match normalize_email(email) {
        Ok(email) => db::admins::by_email(pool, &email).await?,
        Err(_) => None,
    };
    let stored = admin.as_ref().map(|a| a.password_hash.clone());
    let password = password.clone();
    let ok = tokio::task::spawn_blocking(move || {
        password::verify_password(&password, stored.as_deref())
    })
    .await
    .map_err(|e| ServiceError::Internal(e.into()))?;
    Ok(admin.filter(|_| ok))
}

/// The roles an admin can have in a tenant.
pub const ROLES: &[&str] = &["admin", "read_only"];

pub fn parse_role(role: &str) -> Result<&'static str, FieldError> {
    ROLES
        .iter()
        .copied()
        .find(|r| *r == role)
        .ok_or_else(|| FieldError::new("role", "must be admin or read_only"))
}

/// The outcome of an invitation.
pub struct Invited {
    pub admin: Admin,
    /// A generated password, to be shown once to the inviter; `None` when the inviter chose the
    /// password or the admin existed already (their password is left alone).
    pub one_time_password: Option<SecretString>,
    pub existed: bool,
}

/// Gives `email` the `role` in the tenant, creating the admin if needed with `password` or,
/// when none is given, a generated one.
pub async fn invite(
    pool: &sqlx::PgPool,
    tenant_id: Uuid,
    email: &str,
    role: &str,
    password: Option<&SecretString>,
    actor: &Actor,
) -> Result<Invited, ServiceError> {
    let email = normalize_email(email)?;
    let role = parse_role(role)?;
    let existing = db::admins::by_email(pool, &email).await?;
    let (admin, one_time_password) = match existing.clone() {
        Some(admin) => (admin, None),
        None => {
            let (chosen, generated) = match password {
                Some(p) => (p.clone(), None),
                None => {
                    let p = SecretString::from(crate::crypto::random::opaque_token(15));
                    (p.clone(), Some(p))
                }
            };
            password::check_password_rules(&chosen).map_err(|m| FieldError::new("password", m))?;
            let hash = hash(&chosen).await?;
            let admin = db::admins::insert(pool, &email, &hash, false)
                .await
                .on_constraint(|| {
                    ServiceError::Conflict(format!(
                        "An admin with the e-mail {email} was created meanwhile; try again"
                    ))
                })?;
            (admin, generated)
        }
    };
    let mut tx = pool.begin().await?;
    db::admins::set_membership(&mut *tx, tenant_id, admin.admin_id, role).await?;
    audit(
        &mut tx,
        tenant_id,
        "admin_invited",
        actor,
        format!("{email} given the role {role}"),
    )
    .await?;
    tx.commit().await?;
    Ok(Invited {
        admin,
        one_time_password,
        existed: existing.is_some(),
    })
}

/// Removes an admin from a tenant and ends all their sessions; an admin left in no tenant (and
/// not an operator) is deleted.
pub async fn remove(
    pool: &sqlx::PgPool,
    tenant_id: Uuid,
    admin_id: Uuid,
    actor: &Actor,
) -> Result<(), ServiceError> {
    let mut tx = pool.begin().await?;
    let admin = db::admins::by_id(&mut *tx, admin_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !db::admins::remove_membership(&mut *tx, tenant_id, admin_id).await? {
        return Err(ServiceError::NotFound);
    }
    db::sessions::delete_for_admin(&mut *tx, admin_id).await?;
    if !admin.is_operator && db::admins::membership_count(&mut *tx, admin_id).await? == 0 {
        db::admins::delete(&mut *tx, admin_id).await?;
    }
    audit(
        &mut tx,
        tenant_id,
        "admin_removed",
        actor,
        format!("{} removed", admin.email),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn audit(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    tenant_id: Uuid,
    event_type: &'static str,
    actor: &Actor,
    description: String,
) -> Result<(), sqlx::Error> {
    db::events::record(
        &mut **tx,
        tenant_id,
        &db::events::NewEvent {
            event_type,
            description,
            ..Default::default()
        }
        .by(actor),
    )
    .await
    .map(|_| ())
}
