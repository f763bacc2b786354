//! Dashboard admins, their tenant memberships and their server-side sessions.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Admin {
    pub admin_id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub is_operator: bool,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "admin_id, email, password_hash, is_operator, created_at";

pub async fn insert(
    db: impl PgExecutor<'_>,
    email: &str,
    password_hash: &str,
    is_operator: bool,
) -> Result<Admin, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO admins (admin_id, email, password_hash, is_operator) VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(email)
    .bind(password_hash)
    .bind(is_operator)
    .fetch_one(db)
    .await
}

pub async fn by_email(db: impl PgExecutor<'_>, email: &str) -> Result<Option<Admin>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM admins WHERE email = $1"))
        .bind(email)
        .fetch_optional(db)
        .await
}

pub async fn by_id(db: impl PgExecutor<'_>, admin_id: Uuid) -> Result<Option<Admin>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM admins WHERE admin_id = $1"))
        .bind(admin_id)
        .fetch_optional(db)
        .await
}

pub async fn count(db: impl PgExecutor<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM admins")
        .fetch_one(db)
        .await
}

/// An admin's place in one tenant.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Member {
    pub admin_id: Uuid,
    pub email: String,
    pub role: String,
    pub is_operator: bool,
}

/// The role (`admin` or `read_only`) of an admin in a tenant, if they belong to it.
pub async fn role_in(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    admin_id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT role FROM admin_memberships WHERE tenant_id = $1 AND admin_id = $2")
        .bind(tenant_id)
        .bind(admin_id)
        .fetch_optional(db)
        .await
}

/// The tenants an admin belongs to, by slug.
pub async fn tenant_ids_of(
    db: impl PgExecutor<'_>,
    admin_id: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT tenant_id FROM admin_memberships WHERE admin_id = $1")
        .bind(admin_id)
        .fetch_all(db)
        .await
}

pub async fn members(db: impl PgExecutor<'_>, tenant_id: Uuid) -> Result<Vec<Member>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.admin_id, a.email, m.role, a.is_operator
         FROM admin_memberships m JOIN admins a USING (admin_id)
         WHERE m.tenant_id = $1 ORDER BY a.email",
    )
    .bind(tenant_id)
    .fetch_all(db)
    .await
}

/// Adds the admin to the tenant, or changes their role there.
pub async fn set_membership(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    admin_id: Uuid,
    role: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO admin_memberships (tenant_id, admin_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, admin_id) DO UPDATE SET role = EXCLUDED.role",
    )
    .bind(tenant_id)
    .bind(admin_id)
    .bind(role)
    .execute(db)
    .await
    .map(|_| ())
}

pub async fn remove_membership(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    admin_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("DELETE FROM admin_memberships WHERE tenant_id = $1 AND admin_id = $2")
        .bind(tenant_id)
        .bind(admin_id)
        .execute(db)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn membership_count(db: impl PgExecutor<'_>, admin_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM admin_memberships WHERE admin_id = $1")
        .bind(admin_id)
        .fetch_one(db)
        .await
}

/// Deletes the admin; memberships and sessions go with it.
pub async fn delete(db: impl PgExecutor<'_>, admin_id: Uuid) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("DELETE FROM admins WHERE admin_id = $1")
        .bind(admin_id)
        .execute(db)
        .await?;
    Ok(r.rows_affected() == 1)
}
