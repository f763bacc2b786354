//! A tenant's activity by day, as Auth0's stats endpoints report it: logins from the event
//! log, signups from the users' creation times (a deleted user's kept in its `user_deleted`
//! event), and the users active in the last 30 days.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

/// One day (UTC) of activity; `first`/`last` are the day's first and last login, if any.
#[derive(Clone, Debug)]
pub struct Day {
    pub day: NaiveDate,
    pub logins: i64,
    pub signups: i64,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
}

/// Every day from `from` to `to` (inclusive), days without activity included.
pub async fn daily(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Day>, sqlx::Error> {
    // Days are UTC days whatever the session's time zone: each is the range from its UTC
    // midnight, and signups are bucketed by their UTC date. Each day's logins are counted on
    // their own range of the partial index `events_for_stats`, index only: no event is read.
    sqlx::query_file_as!(Day, "src/db/sql/stats_daily.sql", tenant_id, from, to)
        .fetch_all(db)
        .await
}

/// Users who logged in during the last 30 days.
pub async fn active_users(db: impl PgExecutor<'_>, tenant_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM users
           WHERE tenant_id = $1 AND last_login > now() - interval '30 days'"#,
        tenant_id,
    )
    .fetch_one(db)
    .await
}
