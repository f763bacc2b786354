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
