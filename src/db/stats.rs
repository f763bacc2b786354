//! A tenant's activity by day, as Auth0's stats endpoints report it: logins from the event
//! log, signups from the users' creation times (a deleted user's kept in its `user_deleted`
//! event), and the users active in the last 30 days.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

/// One day (UTC) of activity; `first`/`last` are the day's first and last login, if any.
#[derive(Clone, Debug, sqlx::FromRow)]
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
    sqlx::query_as(
        "WITH days AS (
             SELECT d::date AS day, d::date::timestamp AT TIME ZONE 'UTC' AS since
             FROM generate_series($2::date, $3::date, interval '1 day') AS d
         ),
         logins AS (
             SELECT days.day, day_logins.n, day_logins.first, day_logins.last
             FROM days, LATERAL (
                 SELECT count(*) AS n, min(at) AS first, max(at) AS last
                 FROM events
                 WHERE tenant_id = $1 AND type = 'login_success'
                   AND at >= days.since AND at < days.since + interval '1 day'
             ) AS day_logins
         ),
         signed_up AS (
             SELECT created_at AS at
             FROM users
             WHERE tenant_id = $1
               AND created_at >= $2::date::timestamp AT TIME ZONE 'UTC'
               AND created_at < ($3::date + 1)::timestamp AT TIME ZONE 'UTC'
             UNION ALL
             -- Users deleted since: a user is deleted after signing up, so only deletions
             -- from the first day on can hold a signup in the range (the join keeps its days).
             SELECT (details->>'signed_up_at')::timestamptz
             FROM events
             WHERE tenant_id = $1 AND type = 'user_deleted'
               AND at >= $2::date::timestamp AT TIME ZONE 'UTC'
         ),
         signups AS (
             SELECT (at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
             FROM signed_up
             GROUP BY 1
         )
         SELECT logins.day, logins.n AS logins, coalesce(signups.n, 0) AS signups,
                logins.first, logins.last
         FROM logins
         LEFT JOIN signups ON signups.day = logins.day
         ORDER BY 1",
    )
    .bind(tenant_id)
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await
}

/// Users who logged in during the last 30 days.
pub async fn active_users(db: impl PgExecutor<'_>, tenant_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM users
         WHERE tenant_id = $1 AND last_login > now() - interval '30 days'",
    )
    .bind(tenant_id)
    .fetch_one(db)
    .await
}
