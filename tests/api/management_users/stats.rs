//! `/api/v2/stats`: logins and signups per UTC day, and active users.

use serde_json::json;

use super::*;
use crate::helpers::*;
use crate::login::login;
use crate::management_support::*;

#[tokio::test]
async fn stats_count_logins_and_signups_per_utc_day_and_active_users() {
    clear_of_utc_midnight().await;
    let (s, token) = after_login().await;
    assert_eq!(login(&s, &s.web, &[]).await.status(), 302, "Jan again");
    // One of the two logins happened three days ago.
    sqlx::query(
        "UPDATE events SET at = at - interval '3 days'
         WHERE event_id = (SELECT event_id FROM events
                           WHERE tenant_id = $1 AND type = 'login_success' LIMIT 1)",
    )
    .bind(s.tenant.tenant_id)
    .execute(&s.app.pool)
    .await
    .unwrap();

    let active = get(&s, &token, "/stats/active-users").await;
    assert_eq!((active.status, &active.body), (200, &json!(1)));

    let today = chrono::Utc::now().date_naive();
    let ymd = |days_ago: u64| {
        today
            .checked_sub_days(chrono::Days::new(days_ago))
            .unwrap()
            .format("%Y%m%d")
            .to_string()
    };
    let month = get(&s, &token, "/stats/daily").await;
    assert_eq!(month.status, 200, "{:?}", month.body);
    let days = month.body.as_array().unwrap();
    assert_eq!(days.len(), 30, "the 30 days up to today by default");
    let last = &days[29];
    assert_eq!(
        last["date"],
        format!("{}T00:00:00.000Z", today.format("%Y-%m-%d"))
    );
    assert_eq!((&last["logins"], &last["signups"]), (&json!(1), &json!(1)));
    assert_eq!(last["leaked_passwords"], 0);
    assert!(last["created_at"].as_str().unwrap() <= last["updated_at"].as_str().unwrap());
    assert_eq!(
        (&days[26]["logins"], &days[26]["signups"]),
        (&json!(1), &json!(0))
    );
    let total: i64 = days.iter().map(|d| d["logins"].as_i64().unwrap()).sum();
    assert_eq!(total, 2);

    let range = get(
        &s,
        &token,
        &format!("/stats/daily?from={}&to={}", ymd(3), ymd(2)),
    )
    .await;
    assert_eq!(range.status, 200);
    let logins: Vec<i64> = range
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["logins"].as_i64().unwrap())
        .collect();
    assert_eq!(logins, [1, 0]);

    // Deleting Jan does not rewrite history: the signup still counts on its day.
    let deleted = s
        .app
        .http
        .delete(s.app.tenant_url(&s.tenant, &format!("/api/v2{JAN_PATH}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let month = get(&s, &token, "/stats/daily").await;
    let days = month.body.as_array().unwrap();
    assert_eq!(
        (&days[29]["logins"], &days[29]["signups"]),
        (&json!(1), &json!(1))
    );
    let signups: i64 = days.iter().map(|d| d["signups"].as_i64().unwrap()).sum();
    assert_eq!(signups, 1, "counted once");
    let active = get(&s, &token, "/stats/active-users").await;
    assert_eq!(active.body, json!(0), "a deleted user is not active");

    for (query, field) in [
        ("from=2026-11-01", "from"),
        ("to=20261345", "to"),
        ("from=20261130&to=20261101", "from"),
        ("from=20240101&to=20261101", "from"),
        ("from=2026110", "from"),
    ] {
        let res = get(&s, &token, &format!("/stats/daily?{query}")).await;
        assert_auth0_error(&res, 400, "invalid_query_string");
        assert!(
            res.body["message"].as_str().unwrap().contains(field),
            "{query}: {:?}",
            res.body
        );
    }
}
