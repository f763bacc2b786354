//! Client grants: which application may get machine-to-machine tokens for which API
//! (audience), with which scopes.

use sqlx::PgExecutor;
use uuid::Uuid;

#[derive(Clone, Debug)]
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
    sqlx::query_as!(
        ClientGrant,
        "INSERT INTO client_grants (tenant_id, grant_id, client_id, audience, scope)
         VALUES ($1, $2, $3, $4, $5) RETURNING grant_id, client_id, audience, scope, version",
        tenant_id,
        grant_id,
        client_id,
        audience,
        scope,
    )
    .fetch_one(db)
    .await
}

pub async fn grant_for(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    client_id: &str,
    audience: &str,
) -> Result<Option<ClientGrant>, sqlx::Error> {
    sqlx::query_as!(
        ClientGrant,
        "SELECT grant_id, client_id, audience, scope, version FROM client_grants
         WHERE tenant_id = $1 AND client_id = $2 AND audience = $3",
        tenant_id,
        client_id,
        audience,
    )
    .fetch_optional(db)
    .await
}

/// Filters of a client grant listing.
#[derive(Clone, Debug, Default)]
pub struct GrantFilter {
    pub client_id: Option<String>,
    pub audience: Option<String>,
}

/// `sqlx::$query!` over the grants of a tenant that `filter` selects: `$select` then the
/// filter (`$1` the tenant, `$2` the client id, `$3` the audience) then `$rest`, whose
/// parameters, from `$4`, are the `args`. The macros need literal SQL; this writes the filter
/// once for the page, the count and the checkpoint. Grants of the tester client never exist,
/// so no filter is needed for it.
macro_rules! filtered_grants {
    ($query:ident!($($record:path)?), $select:literal, $rest:literal,
     $tenant_id:expr, $filter:expr $(, $arg:expr)* $(,)?) => {
        sqlx::$query!(
            $($record,)?
            $select
                + " FROM client_grants g
                    WHERE g.tenant_id = $1 AND ($2::text IS NULL OR g.client_id = $2)
                      AND ($3::text IS NULL OR g.audience = $3) "
                + $rest,
            $tenant_id,
            $filter.client_id.as_deref(),
            $filter.audience.as_deref(),
            $($arg,)*
        )
    };
}

/// A page of grants by offset, in creation order.
pub async fn grants_page(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    filter: &GrantFilter,
    offset: i64,
    limit: i64,
) -> Result<Vec<ClientGrant>, sqlx::Error> {
    filtered_grants!(
        query_as!(ClientGrant),
        "SELECT g.grant_id, g.client_id, g.audience, g.scope, g.version",
        "ORDER BY g.created_at, g.grant_id OFFSET $4 LIMIT $5",
        tenant_id,
        filter,
        offset,
        limit,
    )
    .fetch_all(db)
    .await
}

/// How many grants `filter` selects.
pub async fn grants_count(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    filter: &GrantFilter,
) -> Result<i64, sqlx::Error> {
    filtered_grants!(
        query_scalar!(),
        r#"SELECT count(*) AS "count!""#,
        "",
        tenant_id,
        filter,
    )
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
    filtered_grants!(
        query_as!(ClientGrant),
        "SELECT g.grant_id, g.client_id, g.audience, g.scope, g.version",
        "AND g.grant_id > $4 ORDER BY g.grant_id LIMIT $5",
        tenant_id,
        filter,
        from.unwrap_or(""),
        take,
    )
    .fetch_all(db)
    .await
}

pub async fn grant_by_id(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    grant_id: &str,
) -> Result<Option<ClientGrant>, sqlx::Error> {
    sqlx::query_as!(
        ClientGrant,
        "SELECT grant_id, client_id, audience, scope, version FROM client_grants
         WHERE tenant_id = $1 AND grant_id = $2",
        tenant_id,
        grant_id,
    )
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
    sqlx::query_as!(
        ClientGrant,
        "UPDATE client_grants SET scope = $4, version = version + 1, updated_at = now()
         WHERE tenant_id = $1 AND grant_id = $2 AND version = $3
         RETURNING grant_id, client_id, audience, scope, version",
        tenant_id,
        grant_id,
        expected_version,
        scope,
    )
    .fetch_optional(db)
    .await
}

pub async fn delete_grant(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    grant_id: &str,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        "DELETE FROM client_grants WHERE tenant_id = $1 AND grant_id = $2",
        tenant_id,
        grant_id,
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}
