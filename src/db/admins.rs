//! Dashboard admins, their tenant memberships and their server-side sessions.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct Admin {
    pub admin_id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub is_operator: bool,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    email: &str,
    password_hash: &str,
    is_operator: bool,
) -> Result<Admin, sqlx::Error> {
    sqlx::query_as!(
        Admin,
        "INSERT INTO admins (admin_id, email, password_hash, is_operator) VALUES ($1, $2, $3, $4)
         RETURNING admin_id, email, password_hash, is_operator, created_at",
        Uuid::new_v4(),
        email,
        password_hash,
        is_operator,
    )
    .fetch_one(db)
    .await
}

pub async fn by_email(db: impl PgExecutor<'_>, email: &str) -> Result<Option<Admin>, sqlx::Error> {
    sqlx::query_as!(
        Admin,
        "SELECT admin_id, email, password_hash, is_operator, created_at FROM admins WHERE email = $1",
        email,
    )
    .fetch_optional(db)
    .await
}

pub async fn by_id(db: impl PgExecutor<'_>, admin_id: Uuid) -> Result<Option<Admin>, sqlx::Error> {
    sqlx::query_as!(
        Admin,
        "SELECT admin_id, email, password_hash, is_operator, created_at FROM admins WHERE admin_id = $1",
        admin_id,
    )
    .fetch_optional(db)
    .await
}

pub async fn count(db: impl PgExecutor<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM admins"#)
        .fetch_one(db)
        .await
}

/// An admin's place in one tenant.
#[derive(Clone, Debug)]
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
    sqlx::query_scalar!(
        "SELECT role FROM admin_memberships WHERE tenant_id = $1 AND admin_id = $2",
        tenant_id,
        admin_id,
    )
    .fetch_optional(db)
    .await
}

/// The tenants an admin belongs to, by slug.
pub async fn tenant_ids_of(
    db: impl PgExecutor<'_>,
    admin_id: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT tenant_id FROM admin_memberships WHERE admin_id = $1",
        admin_id,
    )
    .fetch_all(db)
    .await
}

pub async fn members(db: impl PgExecutor<'_>, tenant_id: Uuid) -> Result<Vec<Member>, sqlx::Error> {
    sqlx::query_as!(
        Member,
        "SELECT a.admin_id, a.email, m.role, a.is_operator
         FROM admin_memberships m JOIN admins a USING (admin_id)
         WHERE m.tenant_id = $1 ORDER BY a.email",
        tenant_id,
    )
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
    sqlx::query!(
        "INSERT INTO admin_memberships (tenant_id, admin_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, admin_id) DO UPDATE SET role = EXCLUDED.role",
        tenant_id,
        admin_id,
        role,
    )
    .execute(db)
    .await
    .map(|_| ())
}

pub async fn remove_membership(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    admin_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        "DELETE FROM admin_memberships WHERE tenant_id = $1 AND admin_id = $2",
        tenant_id,
        admin_id,
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn membership_count(db: impl PgExecutor<'_>, admin_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM admin_memberships WHERE admin_id = $1"#,
        admin_id,
    )
    .fetch_one(db)
    .await
}

/// Deletes the admin; memberships and sessions go with it.
pub async fn delete(db: impl PgExecutor<'_>, admin_id: Uuid) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!("DELETE FROM admins WHERE admin_id = $1", admin_id)
        .execute(db)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Holds the first-run lock until the transaction ends: checking that no admin exists and
/// creating the first one under it, two racing first-run forms cannot both win.
pub async fn lock_first_run(db: impl PgExecutor<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('gatehouse:first-admin'))")
        .execute(db)
        .await
        .map(|_| ())
}
