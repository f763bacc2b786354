//! Tenants and their custom domains.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct Tenant {
    pub tenant_id: Uuid,
    pub slug: String,
    pub display_name: String,
    /// The signing algorithm of applications that name none (`RS256`, `PS256`, `ES256`).
    pub signing_alg: String,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    slug: &str,
    display_name: &str,
) -> Result<Tenant, sqlx::Error> {
    sqlx::query_as!(
        Tenant,
        "INSERT INTO tenants (tenant_id, slug, display_name) VALUES ($1, $2, $3)
         RETURNING tenant_id, slug, display_name, signing_alg, created_at",
        tenant_id,
        slug,
        display_name,
    )
    .fetch_one(db)
    .await
}

pub async fn add_domain(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    domain: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO tenant_domains (tenant_id, domain) VALUES ($1, $2)",
        tenant_id,
        domain,
    )
    .execute(db)
    .await
    .map(|_| ())
}

pub async fn remove_domain(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    domain: &str,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        "DELETE FROM tenant_domains WHERE tenant_id = $1 AND domain = $2",
        tenant_id,
        domain,
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn domains(db: impl PgExecutor<'_>, tenant_id: Uuid) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT domain FROM tenant_domains WHERE tenant_id = $1 ORDER BY domain",
        tenant_id,
    )
    .fetch_all(db)
    .await
}

pub async fn by_slug(db: impl PgExecutor<'_>, slug: &str) -> Result<Option<Tenant>, sqlx::Error> {
    sqlx::query_as!(
        Tenant,
        "SELECT tenant_id, slug, display_name, signing_alg, created_at FROM tenants WHERE slug = $1",
        slug,
    )
    .fetch_optional(db)
    .await
}

pub async fn by_id(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
) -> Result<Option<Tenant>, sqlx::Error> {
    sqlx::query_as!(
        Tenant,
        "SELECT tenant_id, slug, display_name, signing_alg, created_at FROM tenants WHERE tenant_id = $1",
        tenant_id,
    )
    .fetch_optional(db)
    .await
}

pub async fn by_custom_domain(
    db: impl PgExecutor<'_>,
    domain: &str,
) -> Result<Option<Tenant>, sqlx::Error> {
    sqlx::query_as!(
        Tenant,
        "SELECT t.tenant_id, t.slug, t.display_name, t.signing_alg, t.created_at
         FROM tenant_domains d JOIN tenants t USING (tenant_id) WHERE d.domain = $1",
        domain,
    )
    .fetch_optional(db)
    .await
}

pub async fn list(db: &PgPool) -> Result<Vec<Tenant>, sqlx::Error> {
    sqlx::query_as!(
        Tenant,
        "SELECT tenant_id, slug, display_name, signing_alg, created_at FROM tenants ORDER BY slug"
    )
    .fetch_all(db)
    .await
}

pub async fn update_display_name(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    display_name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE tenants SET display_name = $2, updated_at = now() WHERE tenant_id = $1",
        tenant_id,
        display_name,
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// Sets the tenant's default signing algorithm; false when there is no such tenant.
pub async fn set_signing_alg(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    alg: &str,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        "UPDATE tenants SET signing_alg = $2 WHERE tenant_id = $1",
        tenant_id,
        alg,
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}
