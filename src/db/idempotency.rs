//! Stored answers to management API POSTs sent with an `Idempotency-Key`, so a retried request
//! gets the first answer instead of doing the work twice. An answer is stored in the same
//! transaction as the work it answers: both committed, or neither.

use sqlx::PgExecutor;
use uuid::Uuid;

/// A key's record: `response_status` 0 means the first request is still running.
#[derive(Clone, Debug)]
pub struct StoredAnswer {
    pub request_hash: Vec<u8>,
    pub response_status: i32,
    pub response_body: Vec<u8>,
}

/// Claims `key` for a request, inside the transaction that does its work and stores its
/// answer; false when an answer is stored under it already. A concurrent claim of the same key
/// waits here until the other transaction ends (then finds its answer, or claims the key if it
/// rolled back). Answers older than a day, and claims left unanswered by an older version
/// (older than a minute), are given up first.
pub async fn claim(
    db: &mut sqlx::PgConnection,
    tenant_id: Uuid,
    key: &str,
    request_hash: &[u8],
) -> Result<bool, sqlx::Error> {
    sqlx::query!(
        "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2
           AND (created_at < now() - interval '24 hours'
                OR (response_status = 0 AND created_at < now() - interval '1 minute'))",
        tenant_id,
        key,
    )
    .execute(&mut *db)
    .await?;
    let claimed = sqlx::query!(
        "INSERT INTO idempotency_keys (tenant_id, key, request_hash, response_status, response_body)
         VALUES ($1, $2, $3, 0, '') ON CONFLICT DO NOTHING",
        tenant_id,
        key,
        request_hash,
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

pub async fn find(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    key: &str,
) -> Result<Option<StoredAnswer>, sqlx::Error> {
    sqlx::query_as!(
        StoredAnswer,
        "SELECT request_hash, response_status, response_body FROM idempotency_keys
         WHERE tenant_id = $1 AND key = $2",
        tenant_id,
        key,
    )
    .fetch_optional(db)
    .await
}

/// Records the answer of a claimed key.
pub async fn answer(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    key: &str,
    status: i32,
    body: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE idempotency_keys SET response_status = $3, response_body = $4
         WHERE tenant_id = $1 AND key = $2",
        tenant_id,
        key,
        status,
        body,
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// Stores the answer of a request that did nothing (a refusal), unless an answer is stored
/// under the key already.
pub async fn remember(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    key: &str,
    request_hash: &[u8],
    status: i32,
    body: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO idempotency_keys (tenant_id, key, request_hash, response_status, response_body)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        tenant_id,
        key,
        request_hash,
        status,
        body,
    )
    .execute(db)
    .await
    .map(|_| ())
}
