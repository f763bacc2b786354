-- A tenant's logins and signups for each UTC day from $2 to $3 (db::stats::daily).
WITH days AS (
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
SELECT logins.day AS "day!", logins.n AS "logins!", coalesce(signups.n, 0) AS "signups!",
       logins.first AS "first?", logins.last AS "last?"
FROM logins
LEFT JOIN signups ON signups.day = logins.day
ORDER BY 1
