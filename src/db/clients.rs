//! Applications (OAuth clients) and their client grants.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Client {
    pub tenant_id: Uuid,
    pub client_id: String,
    pub name: String,
    pub description: String,
    pub app_type: String,
    pub secret_hash: Option<Vec<u8>>,
    pub callbacks: Vec<String>,
    pub allowed_logout_urls: Vec<String>,
    pub web_origins: Vec<String>,
    pub grant_types: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub is_first_party: bool,
    pub is_tester: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub const COLUMNS: &str =
    "tenant_id, client_id, name, description, app_type, secret_hash, callbacks, \
     allowed_logout_urls, web_origins, grant_types, token_endpoint_auth_method, is_first_party, \
     is_tester, version, created_at, updated_at";

/// The fields a client is created or replaced with.
#[derive(Clone, Debug)]
pub struct ClientFields {
    pub name: String,
    pub description: String,
    pub app_type: String,
    pub callbacks: Vec<String>,
    pub allowed_logout_urls: Vec<String>,
    pub web_origins: Vec<String>,
    pub grant_types: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub is_first_party: bool,
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    client_id: &str,
    fields: &ClientFields,
    secret_hash: Option<&[u8]>,
    is_tester: bool,
) -> Result<Client, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO clients (tenant_id, client_id, name, description, app_type, secret_hash, callbacks,
            allowed_logout_urls, web_origins, grant_types, token_endpoint_auth_method, is_first_party, is_tester)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         RETURNING {COLUMNS}"
    ))
    .bind(tenant_id)
    .bind(client_id)
    .bind(&fields.name)
    .bind(&fields.description)
    .bind(&fields.app_type)
    .bind(secret_hash)
    .bind(&fields.callbacks)
    .bind(&fields.allowed_logout_urls)
    .bind(&fields.web_origins)
    .bind(&fields.grant_types)
    .bind(&fields.token_endpoint_auth_method)
    .bind(fields.is_first_party)
    .bind(is_tester)
    .fetch_one(db)
    .await
}

pub async fn by_id(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    client_id: &str,
) -> Result<Option<Client>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM clients WHERE tenant_id = $1 AND client_id = $2"
    ))
    .bind(tenant_id)
    .bind(client_id)
    .fetch_optional(db)
    .await
}

/// The client, locked until the transaction ends, so concurrent changes queue up.
pub async fn by_id_for_update(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    client_id: &str,
) -> Result<Option<Client>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM clients WHERE tenant_id = $1 AND client_id = $2 FOR UPDATE"
    ))
    .bind(tenant_id)
    .bind(client_id)
    .fetch_optional(db)
    .await
}

/// Every origin the tenant's applications list in `web_origins` (a CORS preflight, which
/// names no application, is allowed from any of them).
pub async fn web_origins(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT unnest(web_origins) FROM clients WHERE tenant_id = $1 AND web_origins <> '{}'",
    )
    .bind(tenant_id)
    .fetch_all(db)
    .await
}

pub async fn tester(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
) -> Result<Option<Client>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM clients WHERE tenant_id = $1 AND is_tester"
    ))
    .bind(tenant_id)
    .fetch_optional(db)
    .await
}

/// How many applications the tenant has (the built-in tester not counted).
pub async fn count(db: impl PgExecutor<'_>, tenant_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM clients WHERE tenant_id = $1 AND NOT is_tester")
        .bind(tenant_id)
        .fetch_one(db)
        .await
}

/// A page by offset, in creation order (`count` is the total, for the callers that show it).
pub async fn page(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    offset: i64,
    limit: i64,
) -> Result<Vec<Client>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM clients WHERE tenant_id = $1 AND NOT is_tester
         ORDER BY created_at, client_id OFFSET $2 LIMIT $3"
    ))
    .bind(tenant_id)
    .bind(offset)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// A page by checkpoint: clients whose id sorts after `from`, in id order.
pub async fn after(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    from: Option<&str>,
    take: i64,
) -> Result<Vec<Client>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM clients WHERE tenant_id = $1 AND NOT is_tester AND client_id > $2
         ORDER BY client_id LIMIT $3"
    ))
    .bind(tenant_id)
    .bind(from.unwrap_or(""))
    .bind(take)
    .fetch_all(db)
    .await
}

/// Replaces the mutable fields when the stored version is `expected_version` (optimistic
/// concurrency); `None` means the client is gone or was changed meanwhile.
pub async fn update(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    client_id: &str,
    expected_version: i32,
    fields: &ClientFields,
) -> Result<Option<Client>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE clients SET name = $4, description = $5, app_type = $6, callbacks = $7,
            allowed_logout_urls = $8, web_origins = $9, grant_types = $10,
            token_endpoint_auth_method = $11, is_first_party = $12,
            version = version + 1, updated_at = now()
         WHERE tenant_id = $1 AND client_id = $2 AND version = $3
         RETURNING {COLUMNS}"
    ))
    .bind(tenant_id)
    .bind(client_id)
    .bind(expected_version)
    .bind(&fields.name)
    .bind(&fields.description)
    .bind(&fields.app_type)
    .bind(&fields.callbacks)
    .bind(&fields.allowed_logout_urls)
    .bind(&fields.web_origins)
    .bind(&fields.grant_types)
    .bind(&fields.token_endpoint_auth_method)
    .bind(fields.is_first_party)
    .fetch_optional(db)
    .await
}

pub async fn set_secret_hash(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    client_id: &str,
    secret_hash: &[u8],
) -> Result<Option<Client>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE clients SET secret_hash = $3, version = version + 1, updated_at = now()
         WHERE tenant_id = $1 AND client_id = $2 RETURNING {COLUMNS}"
    ))
    .bind(tenant_id)
    .bind(client_id)
    .bind(secret_hash)
    .fetch_optional(db)
    .await
}

pub async fn delete(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    client_id: &str,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "DELETE FROM clients WHERE tenant_id = $1 AND client_id = $2 AND NOT is_tester",
    )
    .bind(tenant_id)
    .bind(client_id)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ClientGrant {
    pub grant_id: String,
    pub client_id: String,
    pub audience: String,
    pub scope: Vec<String>,
    pub version: i32,
}

pub async fn insert_grant(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    grant_id: &str,
    client_id: &str,
    audience: &str,
    scope: &[String],
) -> Result<ClientGrant, sqlx::Error> {
    sqlx::query_as(
        "INSERT INTO client_grants (tenant_id, grant_id, client_id, audience, scope)
         VALUES ($1, $2, $3, $4, $5) RETURNING grant_id, client_id, audience, scope, version",
    )
    .bind(tenant_id)
    .bind(grant_id)
    .bind(client_id)
    .bind(audience)
    .bind(scope)
    .fetch_one(db)
    .await
}

pub async fn grant_for(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    client_id: &str,
    audience: &str,
) -> Result<Option<ClientGrant>, sqlx::Error> {
    sqlx::query_as(
        "SELECT grant_id, client_id, audience, scope, version FROM client_grants
         WHERE tenant_id = $1 AND client_id = $2 AND audience = $3",
    )
    .bind(tenant_id)
    .bind(client_id)
    .bind(audience)
    .fetch_optional(db)
    .await
}

/// Filters of a client grant listing.
#[derive(Clone, Debug, Default)]
pub struct GrantFilter {
    pub client_id: Option<String>,
    pub audience: Option<String>,
}

const GRANT_COLUMNS: &str = "g.grant_id, g.client_id, g.audience, g.scope, g.version";

/// The grants of a tenant that `filter` selects ($1 tenant, $2 client id, $3 audience). Grants
/// of the tester client never exist, so no filter is needed for it.
const GRANTS_WHERE: &str = "g.tenant_id = $1 AND ($2::text IS NULL OR g.client_id = $2)
     AND ($3::text IS NULL OR g.audience = $3)";

/// A page of grants by offset, in creation order.
pub async fn grants_page(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    filter: &GrantFilter,
    offset: i64,
    limit: i64,
) -> Result<Vec<ClientGrant>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM client_grants g WHERE {GRANTS_WHERE}
         ORDER BY g.created_at, g.grant_id OFFSET $4 LIMIT $5"
    ))
    .bind(tenant_id)
    .bind(&filter.client_id)
    .bind(&filter.audience)
    .bind(offset)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// How many grants `filter` selects.
pub async fn grants_count(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    filter: &GrantFilter,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT count(*) FROM client_grants g WHERE {GRANTS_WHERE}"
    ))
    .bind(tenant_id)
    .bind(&filter.client_id)
    .bind(&filter.audience)
    .fetch_one(db)
    .await
}

/// Up to `take` grants matching `filter` after the grant id `from`, by grant id (checkpoint
/// paging).
pub async fn grants_after(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    filter: &GrantFilter,
    from: Option<&str>,
    take: i64,
) -> Result<Vec<ClientGrant>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM client_grants g WHERE {GRANTS_WHERE} AND g.grant_id > $4
         ORDER BY g.grant_id LIMIT $5"
    ))
    .bind(tenant_id)
    .bind(&filter.client_id)
    .bind(&filter.audience)
    .bind(from.unwrap_or(""))
    .bind(take)
    .fetch_all(db)
    .await
}

pub async fn grant_by_id(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    grant_id: &str,
) -> Result<Option<ClientGrant>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM client_grants g WHERE g.tenant_id = $1 AND g.grant_id = $2"
    ))
    .bind(tenant_id)
    .bind(grant_id)
    .fetch_optional(db)
    .await
}

/// Replaces a grant's scopes when the stored version is `expected_version`; `None` means the
/// grant is gone or was changed meanwhile.
pub async fn update_grant_scope(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    grant_id: &str,
    expected_version: i32,
    scope: &[String],
) -> Result<Option<ClientGrant>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE client_grants SET scope = $4, version = version + 1, updated_at = now()
         WHERE tenant_id = $1 AND grant_id = $2 AND version = $3
         RETURNING grant_id, client_id, audience, scope, version",
    )
    .bind(tenant_id)
    .bind(grant_id)
    .bind(expected_version)
    .bind(scope)
    .fetch_optional(db)
    .await
}

pub async fn delete_grant(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    grant_id: &str,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("DELETE FROM client_grants WHERE tenant_id = $1 AND grant_id = $2")
        .bind(tenant_id)
        .bind(grant_id)
        .execute(db)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Deletes the client only while its stored version is `expected_version`.
pub async fn delete_at_version(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    client_id: &str,
    expected_version: i32,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "DELETE FROM clients WHERE tenant_id = $1 AND client_id = $2 AND version = $3 AND NOT is_tester",
    )
    .bind(tenant_id)
    .bind(client_id)
    .bind(expected_version)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}
