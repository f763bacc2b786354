-- A tenant's logins and user deletions by time, for its activity per day (`/api/v2/stats/daily`,
-- the dashboard's overview): each day's logins are counted from this index alone (an index-only
-- scan) instead of visiting every event of the range to keep the logins, and the few deletions
-- (which keep their user's signup time) are found without scanning the rest. For a tenant with
-- 500,000 logins in 30 days (a million events) the daily stats went from 560-670 ms to
-- 110-135 ms (BENCHMARKS.md). Partial, so of a login's events only `login_success` pays for it.
CREATE INDEX events_for_stats ON events (tenant_id, type, at)
    WHERE type IN ('login_success', 'user_deleted');
