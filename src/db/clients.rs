//! Applications (OAuth clients) and their client grants.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

#[derive(Clone, Debug)]
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
    /// Its tokens' signing algorithm (`jwt_configuration.alg`); `None`: the tenant's default.
    pub signing_alg: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

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
    pub signing_alg: Option<String>,
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    client_id: &str,
    fields: &ClientFields,
    secret_hash: Option<&[u8]>,
    is_tester: bool,
) -> Result<Client, sqlx::Error> {
    sqlx::query_as!(
        Client,
        "INSERT INTO clients (tenant_id, client_id, name, description, app_type, secret_hash, callbacks,
            allowed_logout_urls, web_origins, grant_types, token_endpoint_auth_method, is_first_party, is_tester,
            signing_alg)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         RETURNING tenant_id, client_id, name, description, app_type, secret_hash, callbacks,
            allowed_logout_urls, web_origins, grant_types, token_endpoint_auth_method,
            is_first_party, is_tester, signing_alg, version, created_at, updated_at",
        tenant_id,
        client_id,
        fields.name,
        fields.description,
        fields.app_type,
        secret_hash,
        &fields.callbacks,
        &fields.allowed_logout_urls,
        &fields.web_origins,
        &fields.grant_types,
        fields.token_endpoint_auth_method,
        fields.is_first_party,
        is_tester,
        fields.signing_alg.as_deref(),
    )
    .fetch_one(db)
    .await
}

pub async fn by_id(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    client_id: &str,
) -> Result<Option<Client>, sqlx::Error> {
    sqlx::query_as!(
        Client,
        "SELECT tenant_id, client_id, name, description, app_type, secret_hash, callbacks,
            allowed_logout_urls, web_origins, grant_types, token_endpoint_auth_method,
            is_first_party, is_tester, signing_alg, version, created_at, updated_at
         FROM clients WHERE tenant_id = $1 AND client_id = $2",
        tenant_id,
        client_id,
    )
    .fetch_optional(db)
    .await
}

/// The client, locked until the transaction ends, so concurrent changes queue up.
pub async fn by_id_for_update(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    client_id: &str,
) -> Result<Option<Client>, sqlx::Error> {
    sqlx::query_as!(
        Client,
        "SELECT tenant_id, client_id, name, description, app_type, secret_hash, callbacks,
            allowed_logout_urls, web_origins, grant_types, token_endpoint_auth_method,
            is_first_party, is_tester, signing_alg, version, created_at, updated_at
         FROM clients WHERE tenant_id = $1 AND client_id = $2 FOR UPDATE",
        tenant_id,
        client_id,
    )
    .fetch_optional(db)
    .await
}

/// Every origin the tenant's applications list in `web_origins` (a CORS preflight, which
/// names no application, is allowed from any of them).
pub async fn web_origins(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT DISTINCT unnest(web_origins) AS "origin!"
           FROM clients WHERE tenant_id = $1 AND web_origins <> '{}'"#,
        tenant_id,
    )
    .fetch_all(db)
    .await
}

pub async fn tester(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
) -> Result<Option<Client>, sqlx::Error> {
    sqlx::query_as!(
        Client,
        "SELECT tenant_id, client_id, name, description, app_type, secret_hash, callbacks,
            allowed_logout_urls, web_origins, grant_types, token_endpoint_auth_method,
            is_first_party, is_tester, signing_alg, version, created_at, updated_at
         FROM clients WHERE tenant_id = $1 AND is_tester",
        tenant_id,
    )
    .fetch_optional(db)
    .await
}

/// How many applications the tenant has (the built-in tester not counted).
pub async fn count(db: impl PgExecutor<'_>, tenant_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM clients WHERE tenant_id = $1 AND NOT is_tester"#,
        tenant_id,
    )
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
    sqlx::query_as!(
        Client,
        "SELECT tenant_id, client_id, name, description, app_type, secret_hash, callbacks,
            allowed_logout_urls, web_origins, grant_types, token_endpoint_auth_method,
            is_first_party, is_tester, signing_alg, version, created_at, updated_at
         FROM clients WHERE tenant_id = $1 AND NOT is_tester
         ORDER BY created_at, client_id OFFSET $2 LIMIT $3",
        tenant_id,
        offset,
        limit,
    )
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
    sqlx::query_as!(
        Client,
        "SELECT tenant_id, client_id, name, description, app_type, secret_hash, callbacks,
            allowed_logout_urls, web_origins, grant_types, token_endpoint_auth_method,
            is_first_party, is_tester, signing_alg, version, created_at, updated_at
         FROM clients WHERE tenant_id = $1 AND NOT is_tester AND client_id > $2
         ORDER BY client_id LIMIT $3",
        tenant_id,
        from.unwrap_or(""),
        take,
    )
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
    sqlx::query_as!(
        Client,
        "UPDATE clients SET name = $4, description = $5, app_type = $6, callbacks = $7,
            allowed_logout_urls = $8, web_origins = $9, grant_types = $10,
            token_endpoint_auth_method = $11, is_first_party = $12, signing_alg = $13,
            version = version + 1, updated_at = now()
         WHERE tenant_id = $1 AND client_id = $2 AND version = $3
         RETURNING tenant_id, client_id, name, description, app_type, secret_hash, callbacks,
            allowed_logout_urls, web_origins, grant_types, token_endpoint_auth_method,
            is_first_party, is_tester, signing_alg, version, created_at, updated_at",
        tenant_id,
        client_id,
        expected_version,
        fields.name,
        fields.description,
        fields.app_type,
        &fields.callbacks,
        &fields.allowed_logout_urls,
        &fields.web_origins,
        &fields.grant_types,
        fields.token_endpoint_auth_method,
        fields.is_first_party,
        fields.signing_alg.as_deref(),
    )
    .fetch_optional(db)
    .await
}

pub async fn set_secret_hash(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    client_id: &str,
    secret_hash: &[u8],
) -> Result<Option<Client>, sqlx::Error> {
    sqlx::query_as!(
        Client,
        "UPDATE clients SET secret_hash = $3, version = version + 1, updated_at = now()
         WHERE tenant_id = $1 AND client_id = $2
         RETURNING tenant_id, client_id, name, description, app_type, secret_hash, callbacks,
            allowed_logout_urls, web_origins, grant_types, token_endpoint_auth_method,
            is_first_party, is_tester, signing_alg, version, created_at, updated_at",
        tenant_id,
        client_id,
        secret_hash,
    )
    .fetch_optional(db)
    .await
}

pub async fn delete(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    client_id: &str,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        "DELETE FROM clients WHERE tenant_id = $1 AND client_id = $2 AND NOT is_tester",
        tenant_id,
        client_id,
    )
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
    let r = sqlx::query!(
        "DELETE FROM clients WHERE tenant_id = $1 AND client_id = $2 AND version = $3 AND NOT is_tester",
        tenant_id,
        client_id,
        expected_version,
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}
