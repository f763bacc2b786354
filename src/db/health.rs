//! Connections' login health, counted from the event log (logins that ended) and from the
//! login transactions that expired (logins sent to the provider that never came back).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

/// A connection's logins that ended, in the last hour and in the last day.
#[derive(Clone, Copy, Debug)]
pub struct Outcomes {
    pub hour_succeeded: i64,
    pub hour_failed: i64,
    pub day_succeeded: i64,
    pub day_failed: i64,
}

/// How a connection's logins ended; events name their connection, so it is given by name.
pub async fn outcomes(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    connection_name: &str,
) -> Result<Outcomes, sqlx::Error> {
    sqlx::query_as!(
        Outcomes,
        r#"SELECT count(*) FILTER (WHERE at > now() - interval '1 hour' AND type = 'login_success') AS "hour_succeeded!",
                  count(*) FILTER (WHERE at > now() - interval '1 hour' AND type = 'login_failure') AS "hour_failed!",
                  count(*) FILTER (WHERE type = 'login_success') AS "day_succeeded!",
                  count(*) FILTER (WHERE type = 'login_failure') AS "day_failed!"
           FROM events
           WHERE tenant_id = $1 AND connection = $2 AND at > now() - interval '1 day'
             AND type IN ('login_success', 'login_failure')"#,
        tenant_id,
        connection_name,
    )
    .fetch_one(db)
    .await
}

/// A connection's logins that never came back from the provider: (last hour, last day).
pub async fn abandoned(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    connection_id: &str,
) -> Result<(i64, i64), sqlx::Error> {
    let r = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE created_at > now() - interval '1 hour') AS "hour!",
                  count(*) AS "day!"
           FROM login_transactions
           WHERE tenant_id = $1 AND connection_id = $2 AND expires_at < now()
             AND created_at > now() - interval '1 day' AND taken_by IS NULL"#,
        tenant_id,
        connection_id,
    )
    .fetch_one(db)
    .await?;
    Ok((r.hour, r.day))
}

/// The steps a connection's logins failed at most often in the last day (at most five), with
/// how often.
pub async fn failure_steps(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    connection_name: &str,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT coalesce(details->>'failed_step', 'unknown') AS "step!", count(*) AS "count!"
           FROM events
           WHERE tenant_id = $1 AND connection = $2 AND type = 'login_failure'
             AND at > now() - interval '1 day'
           GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5"#,
        tenant_id,
        connection_name,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.step, r.count)).collect())
}

/// Median and 95th percentile of the milliseconds a successful login of the last day spent at
/// the provider (token exchange plus profile); none without such logins.
pub async fn upstream_ms(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    connection_name: &str,
) -> Result<(Option<f64>, Option<f64>), sqlx::Error> {
    let r = sqlx::query!(
        r#"SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS "p50?",
                  percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS "p95?"
           FROM (SELECT sum((step->>'ms')::float8) AS ms
                 FROM events e, jsonb_array_elements(e.details->'steps') step
                 WHERE e.tenant_id = $1 AND e.connection = $2 AND e.type = 'login_success'
                   AND e.at > now() - interval '1 day'
                   AND step->>'step' IN ('upstream_token_exchange', 'profile_fetch')
                 GROUP BY e.event_id) per_login"#,
        tenant_id,
        connection_name,
    )
    .fetch_one(db)
    .await?;
    Ok((r.p50, r.p95))
}

/// A connection's most recent failed login, as logged.
#[derive(Clone, Debug)]
pub struct FailedLogin {
    pub at: DateTime<Utc>,
    pub trace_id: Option<Uuid>,
    pub description: String,
    pub details: Value,
}

pub async fn last_failure(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    connection_name: &str,
) -> Result<Option<FailedLogin>, sqlx::Error> {
    sqlx::query_as!(
        FailedLogin,
        "SELECT at, trace_id, description, details FROM events
         WHERE tenant_id = $1 AND connection = $2 AND type = 'login_failure'
         ORDER BY at DESC LIMIT 1",
        tenant_id,
        connection_name,
    )
    .fetch_optional(db)
    .await
}

/// Every connection's logins that ended in the last day: (connection name, succeeded, failed),
/// for connections that had any.
pub async fn outcomes_by_connection(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT connection AS "connection!",
                  count(*) FILTER (WHERE type = 'login_success') AS "succeeded!",
                  count(*) FILTER (WHERE type = 'login_failure') AS "failed!"
           FROM events
           WHERE tenant_id = $1 AND at > now() - interval '1 day'
             AND type IN ('login_success', 'login_failure') AND connection IS NOT NULL
           GROUP BY connection"#,
        tenant_id,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.connection, r.succeeded, r.failed))
        .collect())
}

/// Every connection's logins of the last day that never came back from the provider:
/// (connection id, how many), for connections that had any.
pub async fn abandoned_by_connection(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT connection_id, count(*) AS "abandoned!" FROM login_transactions
           WHERE tenant_id = $1 AND expires_at < now() AND created_at > now() - interval '1 day'
             AND taken_by IS NULL
           GROUP BY connection_id"#,
        tenant_id,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.connection_id, r.abandoned))
        .collect())
}
