//! Users: deletion, which also ends every session the user holds (refresh tokens revoked).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::ServiceError;
use crate::db;

/// Deletes a user and revokes their refresh tokens in one transaction; refuses (`Stale`) when
/// the user changed since `expected_updated_at`.
pub async fn delete(
    pool: &sqlx::PgPool,
    tenant_id: Uuid,
    user_id: &str,
    expected_updated_at: Option<DateTime<Utc>>,
    actor: &str,
) -> Result<(), ServiceError> {
    let mut tx = pool.begin().await?;
    let user = db::users::lock(&mut tx, tenant_id, user_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if expected_updated_at.is_some_and(|at| at != user.updated_at) {
        return Err(ServiceError::Stale);
    }
    let revoked = db::tokens::revoke_user(&mut *tx, tenant_id, user_id).await?;
    db::users::delete(&mut *tx, tenant_id, user_id).await?;
    db::events::record(
        &mut *tx,
        tenant_id,
        &db::events::NewEvent {
            event_type: "user_deleted",
            user_id: Some(user_id.to_owned()),
            actor: Some(actor.to_owned()),
            description: format!("user deleted; {revoked} refresh tokens revoked"),
            details: serde_json::json!({ "revoked_refresh_tokens": revoked }),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
