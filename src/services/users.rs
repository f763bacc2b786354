//! Users: blocking (no login, code redemption, refresh or /userinfo until unblocked) and
//! deletion, which also ends every session the user holds (refresh tokens revoked).

use super::Actor;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::ServiceError;
use crate::db;

/// The user, locked for this transaction, unless missing or changed since
/// `expected_updated_at` (`Stale`).
async fn lock_unchanged(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    tenant_id: Uuid,
    user_id: &str,
    expected_updated_at: Option<DateTime<Utc>>,
) -> Result<db::users::User, ServiceError> {
    let user = db::users::lock(tx, tenant_id, user_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if expected_updated_at.is_some_and(|at| at != user.updated_at) {
        return Err(ServiceError::Stale);
    }
    Ok(user)
}

/// Blocks or unblocks a user, with an audit event; refuses (`Stale`) when the user changed
/// since `expected_updated_at`. Setting what is already set changes nothing and records nothing.
/// Refresh tokens are kept: they are refused while the user is blocked and work again after.
pub async fn set_blocked(
    pool: &sqlx::PgPool,
    tenant_id: Uuid,
    user_id: &str,
    blocked: bool,
    expected_updated_at: Option<DateTime<Utc>>,
    actor: &Actor,
) -> Result<db::users::User, ServiceError> {
    let mut tx = pool.begin().await?;
    let user = lock_unchanged(&mut tx, tenant_id, user_id, expected_updated_at).await?;
    if user.blocked == blocked {
        return Ok(user);
    }
    let user = db::users::set_blocked(&mut *tx, tenant_id, user_id, blocked).await?;
    let event_type = if blocked {
        "user_blocked"
    } else {
        "user_unblocked"
    };
    db::events::record(
        &mut *tx,
        tenant_id,
        &db::events::NewEvent {
            event_type,
            user_id: Some(user_id.to_owned()),
            description: event_type.replace('_', " "),
            ..Default::default()
        }
        .by(actor),
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// Deletes a user and revokes their refresh tokens in one transaction; refuses (`Stale`) when
/// the user changed since `expected_updated_at`.
pub async fn delete(
    pool: &sqlx::PgPool,
    tenant_id: Uuid,
    user_id: &str,
    expected_updated_at: Option<DateTime<Utc>>,
    actor: &Actor,
) -> Result<(), ServiceError> {
    let mut tx = pool.begin().await?;
    lock_unchanged(&mut tx, tenant_id, user_id, expected_updated_at).await?;
    let revoked = db::tokens::revoke_user(&mut *tx, tenant_id, user_id).await?;
    let signed_up = db::users::delete(&mut *tx, tenant_id, user_id).await?;
    db::events::record(
        &mut *tx,
        tenant_id,
        &db::events::NewEvent {
            event_type: "user_deleted",
            user_id: Some(user_id.to_owned()),
            description: format!("user deleted; {revoked} refresh tokens revoked"),
            // When they signed up, so the tenant's signups per day (`db::stats`) still count them.
            details: serde_json::json!({
                "revoked_refresh_tokens": revoked,
                "signed_up_at": signed_up,
            }),
            ..Default::default()
        }
        .by(actor),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
