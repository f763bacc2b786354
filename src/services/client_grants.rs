//! Client grants: which application may get machine-to-machine tokens for the tenant's
//! management API, with which scopes; validated, written with their audit event in one
//! transaction.

use uuid::Uuid;

use super::clients::{audit, MANAGEMENT_SCOPES};
use super::{Actor, ServiceError};
use crate::crypto::random::id_with_prefix;
use crate::db;
use crate::db::client_grants::ClientGrant;
use crate::db::OnConstraint;
use crate::domain::FieldError;

/// Validates a scope list against the management API's scopes.
pub fn parse_scopes(field: &str, scopes: &[String]) -> Result<Vec<String>, FieldError> {
    let mut out = Vec::new();
    for s in scopes {
        if !MANAGEMENT_SCOPES.contains(&s.as_str()) {
            return Err(FieldError::new(
                field,
                format!(
                    "`{}` is not a management API scope",
                    s.chars().take(64).collect::<String>()
                ),
            ));
        }
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    Ok(out)
}

/// Grants `client_id` the given scopes on the tenant's management API audience.
pub async fn create_grant(
    pool: &sqlx::PgPool,
    tenant_id: Uuid,
    client_id: &str,
    audience: &str,
    scopes: &[String],
    actor: &Actor,
) -> Result<ClientGrant, ServiceError> {
    let mut tx = pool.begin().await?;
    let grant = create_grant_in(&mut tx, tenant_id, client_id, audience, scopes, actor).await?;
    tx.commit().await?;
    Ok(grant)
}

/// [`create_grant`] inside the caller's transaction, which commits it.
pub async fn create_grant_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    tenant_id: Uuid,
    client_id: &str,
    audience: &str,
    scopes: &[String],
    actor: &Actor,
) -> Result<ClientGrant, ServiceError> {
    let scopes = parse_scopes("scope", scopes)?;
    let client = db::clients::by_id(&mut **tx, tenant_id, client_id)
        .await?
        .filter(|c| !c.is_tester)
        .ok_or_else(|| {
            ServiceError::Invalid(FieldError::new(
                "client_id",
                "is not a client of this tenant",
            ))
        })?;
    if !client.grant_types.iter().any(|g| g == "client_credentials") {
        return Err(ServiceError::Invalid(FieldError::new(
            "client_id",
            "the client does not have the client_credentials grant type",
        )));
    }
    let grant = db::client_grants::insert_grant(
        &mut **tx,
        tenant_id,
        &id_with_prefix("cgr_", 16),
        client_id,
        audience,
        &scopes,
    )
    .await
    .on_constraint(|| {
        ServiceError::Conflict("A client grant for this client and audience already exists".into())
    })?;
    audit(tx, tenant_id, "client_grant_created", &client, actor).await?;
    Ok(grant)
}

/// Replaces a grant's scopes.
pub async fn update_grant(
    pool: &sqlx::PgPool,
    tenant_id: Uuid,
    grant_id: &str,
    scopes: &[String],
    expected_version: Option<i32>,
    actor: &Actor,
) -> Result<ClientGrant, ServiceError> {
    let scopes = parse_scopes("scope", scopes)?;
    let mut tx = pool.begin().await?;
    let current = db::client_grants::grant_by_id(&mut *tx, tenant_id, grant_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let version = expected_version.unwrap_or(current.version);
    let grant =
        db::client_grants::update_grant_scope(&mut *tx, tenant_id, grant_id, version, &scopes)
            .await?
            .ok_or(ServiceError::Stale)?;
    audit_grant(&mut tx, tenant_id, "client_grant_updated", &grant, actor).await?;
    tx.commit().await?;
    Ok(grant)
}

pub async fn delete_grant(
    pool: &sqlx::PgPool,
    tenant_id: Uuid,
    grant_id: &str,
    expected_version: Option<i32>,
    actor: &Actor,
) -> Result<(), ServiceError> {
    let mut tx = pool.begin().await?;
    let current = db::client_grants::grant_by_id(&mut *tx, tenant_id, grant_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if expected_version.is_some_and(|v| v != current.version) {
        return Err(ServiceError::Stale);
    }
    db::client_grants::delete_grant(&mut *tx, tenant_id, grant_id).await?;
    audit_grant(&mut tx, tenant_id, "client_grant_deleted", &current, actor).await?;
    tx.commit().await?;
    Ok(())
}

async fn audit_grant(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    tenant_id: Uuid,
    event_type: &'static str,
    grant: &ClientGrant,
    actor: &Actor,
) -> Result<(), sqlx::Error> {
    let event = db::events::NewEvent {
        client_id: Some(grant.client_id.clone()),
        details: serde_json::json!({ "grant_id": grant.grant_id, "scope": grant.scope }),
        ..db::events::NewEvent::config_change(event_type, actor, &grant.grant_id)
    };
    db::events::record(&mut **tx, tenant_id, &event)
        .await
        .map(|_| ())
}
