//! Connections (upstream identity providers of a tenant) and the applications they serve.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct Connection {
    pub tenant_id: Uuid,
    pub connection_id: String,
    pub name: String,
    pub display_name: Option<String>,
    pub strategy: String,
    pub options: serde_json::Value,
    pub client_secret_sealed: Option<String>,
    pub is_domain_connection: bool,
    pub show_as_button: bool,
    pub realms: Vec<String>,
    pub metadata: serde_json::Value,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Everything a connection is created or replaced with (the id and name are fixed at creation).
#[derive(Clone, Debug)]
pub struct ConnectionFields {
    pub display_name: Option<String>,
    pub options: serde_json::Value,
    pub client_secret_sealed: Option<String>,
    pub is_domain_connection: bool,
    pub show_as_button: bool,
    pub realms: Vec<String>,
    pub metadata: serde_json::Value,
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    connection_id: &str,
    name: &str,
    strategy: &str,
    fields: &ConnectionFields,
) -> Result<Connection, sqlx::Error> {
    sqlx::query_as!(
        Connection,
        "INSERT INTO connections (tenant_id, connection_id, name, display_name, strategy, options,
            client_secret_sealed, is_domain_connection, show_as_button, realms, metadata)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         RETURNING tenant_id, connection_id, name, display_name, strategy, options,
            client_secret_sealed, is_domain_connection, show_as_button, realms, metadata, version,
            created_at, updated_at",
        tenant_id,
        connection_id,
        name,
        fields.display_name.as_deref(),
        strategy,
        fields.options,
        fields.client_secret_sealed.as_deref(),
        fields.is_domain_connection,
        fields.show_as_button,
        &fields.realms,
        fields.metadata,
    )
    .fetch_one(db)
    .await
}

pub async fn by_id(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    connection_id: &str,
) -> Result<Option<Connection>, sqlx::Error> {
    sqlx::query_as!(
        Connection,
        "SELECT tenant_id, connection_id, name, display_name, strategy, options,
            client_secret_sealed, is_domain_connection, show_as_button, realms, metadata, version,
            created_at, updated_at
         FROM connections WHERE tenant_id = $1 AND connection_id = $2",
        tenant_id,
        connection_id,
    )
    .fetch_optional(db)
    .await
}

/// The connection, locked until the transaction ends, so concurrent changes queue up instead
/// of one of them failing as stale.
pub async fn by_id_for_update(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    connection_id: &str,
) -> Result<Option<Connection>, sqlx::Error> {
    sqlx::query_as!(
        Connection,
        "SELECT tenant_id, connection_id, name, display_name, strategy, options,
            client_secret_sealed, is_domain_connection, show_as_button, realms, metadata, version,
            created_at, updated_at
         FROM connections WHERE tenant_id = $1 AND connection_id = $2 FOR UPDATE",
        tenant_id,
        connection_id,
    )
    .fetch_optional(db)
    .await
}

pub async fn by_name(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    name: &str,
) -> Result<Option<Connection>, sqlx::Error> {
    sqlx::query_as!(
        Connection,
        "SELECT tenant_id, connection_id, name, display_name, strategy, options,
            client_secret_sealed, is_domain_connection, show_as_button, realms, metadata, version,
            created_at, updated_at
         FROM connections WHERE tenant_id = $1 AND name = $2",
        tenant_id,
        name,
    )
    .fetch_optional(db)
    .await
}

/// Filters of a connection listing.
#[derive(Clone, Debug, Default)]
pub struct ConnectionFilter {
    pub strategies: Vec<String>,
    pub name: Option<String>,
}

/// `sqlx::$query!` over the connections of a tenant that `filter` selects: `$select` then the
/// filter (`$1` the tenant, `$2` the strategies, none meaning any, `$3` the name) then `$rest`,
/// whose parameters, from `$4`, are the `args`. The macros need literal SQL; this writes the
/// filter once for the page, the count and the checkpoint.
macro_rules! filtered_connections {
    ($query:ident!($($record:path)?), $select:literal, $rest:literal,
     $tenant_id:expr, $filter:expr $(, $arg:expr)* $(,)?) => {
        sqlx::$query!(
            $($record,)?
            $select
                + " FROM connections
                    WHERE tenant_id = $1 AND (cardinality($2::text[]) = 0 OR strategy = ANY($2))
                      AND ($3::text IS NULL OR name = $3) "
                + $rest,
            $tenant_id,
            &$filter.strategies,
            $filter.name.as_deref(),
            $($arg,)*
        )
    };
}

/// A page by offset, in name order.
pub async fn page(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    filter: &ConnectionFilter,
    offset: i64,
    limit: i64,
) -> Result<Vec<Connection>, sqlx::Error> {
    filtered_connections!(
        query_as!(Connection),
        "SELECT tenant_id, connection_id, name, display_name, strategy, options,
            client_secret_sealed, is_domain_connection, show_as_button, realms, metadata, version,
            created_at, updated_at",
        "ORDER BY name OFFSET $4 LIMIT $5",
        tenant_id,
        filter,
        offset,
        limit,
    )
    .fetch_all(db)
    .await
}

/// How many connections match the filter (counting reads them all: only when asked for).
pub async fn count(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    filter: &ConnectionFilter,
) -> Result<i64, sqlx::Error> {
    filtered_connections!(
        query_scalar!(),
        r#"SELECT count(*) AS "count!""#,
        "",
        tenant_id,
        filter,
    )
    .fetch_one(db)
    .await
}

/// A page by checkpoint: connections whose id sorts after `from`, in id order.
pub async fn after(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    filter: &ConnectionFilter,
    from: Option<&str>,
    take: i64,
) -> Result<Vec<Connection>, sqlx::Error> {
    filtered_connections!(
        query_as!(Connection),
        "SELECT tenant_id, connection_id, name, display_name, strategy, options,
            client_secret_sealed, is_domain_connection, show_as_button, realms, metadata, version,
            created_at, updated_at",
        "AND connection_id > $4 ORDER BY connection_id LIMIT $5",
        tenant_id,
        filter,
        from.unwrap_or(""),
        take,
    )
    .fetch_all(db)
    .await
}

/// Replaces the mutable fields when the stored version is `expected_version`; `None` means the
/// connection is gone or was changed meanwhile.
pub async fn update(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    connection_id: &str,
    expected_version: i32,
    fields: &ConnectionFields,
) -> Result<Option<Connection>, sqlx::Error> {
    sqlx::query_as!(
        Connection,
        "UPDATE connections SET display_name = $4, options = $5, client_secret_sealed = $6,
            is_domain_connection = $7, show_as_button = $8, realms = $9, metadata = $10,
            version = version + 1, updated_at = now()
         WHERE tenant_id = $1 AND connection_id = $2 AND version = $3
         RETURNING tenant_id, connection_id, name, display_name, strategy, options,
            client_secret_sealed, is_domain_connection, show_as_button, realms, metadata, version,
            created_at, updated_at",
        tenant_id,
        connection_id,
        expected_version,
        fields.display_name.as_deref(),
        fields.options,
        fields.client_secret_sealed.as_deref(),
        fields.is_domain_connection,
        fields.show_as_button,
        &fields.realms,
        fields.metadata,
    )
    .fetch_optional(db)
    .await
}

pub async fn delete(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    connection_id: &str,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        "DELETE FROM connections WHERE tenant_id = $1 AND connection_id = $2",
        tenant_id,
        connection_id,
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn enabled_clients(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    connection_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT client_id FROM connection_clients WHERE tenant_id = $1 AND connection_id = $2 ORDER BY client_id",
        tenant_id,
        connection_id,
    )
    .fetch_all(db)
    .await
}

/// Enables (`true`) or disables the connection for a client. The client must belong to the
/// tenant (enforced by the foreign key).
pub async fn set_enabled(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    connection_id: &str,
    client_id: &str,
    enabled: bool,
) -> Result<(), sqlx::Error> {
    if enabled {
        sqlx::query!(
            "INSERT INTO connection_clients (tenant_id, connection_id, client_id) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            tenant_id,
            connection_id,
            client_id,
        )
        .execute(db)
        .await?;
    } else {
        sqlx::query!(
            "DELETE FROM connection_clients WHERE tenant_id = $1 AND connection_id = $2 AND client_id = $3",
            tenant_id,
            connection_id,
            client_id,
        )
        .execute(db)
        .await?;
    }
    Ok(())
}

/// The connections a client may log in with, in name order.
pub async fn enabled_for_client(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    client_id: &str,
) -> Result<Vec<Connection>, sqlx::Error> {
    sqlx::query_as!(
        Connection,
        "SELECT c.tenant_id, c.connection_id, c.name, c.display_name, c.strategy, c.options,
            c.client_secret_sealed, c.is_domain_connection, c.show_as_button, c.realms, c.metadata,
            c.version, c.created_at, c.updated_at
         FROM connections c JOIN connection_clients cc USING (tenant_id, connection_id)
         WHERE c.tenant_id = $1 AND cc.client_id = $2 ORDER BY c.name",
        tenant_id,
        client_id,
    )
    .fetch_all(db)
    .await
}

/// Bumps the version after a change that is not in the row itself (enabled clients), so ETags
/// and caches see it.
pub async fn touch(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    connection_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE connections SET version = version + 1, updated_at = now()
         WHERE tenant_id = $1 AND connection_id = $2",
        tenant_id,
        connection_id,
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// The enabled clients of several connections at once (for listings), as
/// `(connection_id, client_id)` pairs in client id order.
pub async fn enabled_clients_of(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    connection_ids: &[String],
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let pairs = sqlx::query!(
        "SELECT connection_id, client_id FROM connection_clients
         WHERE tenant_id = $1 AND connection_id = ANY($2) ORDER BY client_id",
        tenant_id,
        connection_ids,
    )
    .fetch_all(db)
    .await?;
    Ok(pairs
        .into_iter()
        .map(|p| (p.connection_id, p.client_id))
        .collect())
}
