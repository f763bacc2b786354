//! `/api/v2/logs` and a user's logs: Auth0-shaped, filtered and paged, exported from a
//! checkpoint each event once, and restored into another cluster before its own.

use serde_json::{json, Value};

use super::*;
use crate::helpers::*;
use crate::login::{login, LoginSetup};
use crate::management_support::*;

#[tokio::test]
async fn logs_are_auth0_shaped_filtered_and_paged() {
    let (s, token) = after_login().await;
    let all = get(&s, &token, "/logs?include_totals=true&per_page=100").await;
    assert_eq!(all.status, 200, "{:?}", all.body);
    let logs = all.body["logs"].as_array().unwrap();
    assert_eq!(all.body["total"], json!(logs.len()));
    let success = logs
        .iter()
        .find(|l| l["event"] == "login_success")
        .expect("a login event");
    // Auth0's log event type codes, so exporters and alerts written for Auth0 work.
    assert_eq!(success["type"], "s");
    // Who logged in from where, as Auth0's log events say.
    assert_eq!(success["ip"], "127.0.0.1");
    assert_eq!(success["user_agent"], TEST_USER_AGENT);
    let code_of = |event: &str| {
        logs.iter()
            .find(|l| l["event"] == event)
            .unwrap_or_else(|| panic!("a {event} event in {logs:?}"))["type"]
            .clone()
    };
    assert_eq!(code_of("connection_created"), "sapi");
    assert_eq!(code_of("tenant_created"), "sapi");
    for key in [
        "log_id",
        "date",
        "type",
        "description",
        "client_id",
        "connection",
        "user_id",
        "details",
    ] {
        assert!(success.get(key).is_some(), "{key} in {success}");
    }
    assert_eq!(success["user_id"], JAN);
    assert_eq!(success["client_id"], json!(s.web.client_id));

    // Filters take Gatehouse's name or Auth0's code, as a parameter or in Auth0's `q`.
    let events_of = |res: &Res| -> Vec<String> {
        res.body
            .as_array()
            .unwrap_or_else(|| panic!("{:?}", res.body))
            .iter()
            .map(|l| l["event"].as_str().unwrap().to_owned())
            .collect()
    };
    for query in [
        "type=login_success",
        "type=s",
        "q=type%3A%22s%22",
        "q=type%3As%20AND%20connection%3Aexact",
    ] {
        let typed = events_of(&get(&s, &token, &format!("/logs?{query}")).await);
        assert!(
            !typed.is_empty() && typed.iter().all(|e| e == "login_success"),
            "{query}: {typed:?}"
        );
    }
    let changes = events_of(&get(&s, &token, "/logs?q=type%3Asapi&per_page=100").await);
    assert!(
        changes.contains(&"connection_created".to_owned()),
        "{changes:?}"
    );
    assert!(!changes
        .iter()
        .any(|e| e.starts_with("login") || e.starts_with("code")));
    assert_auth0_error(
        &get(&s, &token, "/logs?q=description%3Alogin").await,
        400,
        "invalid_query_string",
    );
    let by_user = get(&s, &token, &format!("/logs?user_id={}", urlencode(JAN))).await;
    assert!(!by_user.body.as_array().unwrap().is_empty());
    assert!(by_user
        .body
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["user_id"] == JAN));
    let by_client = get(
        &s,
        &token,
        &format!("/logs?client_id={}&connection=exact", s.web.client_id),
    )
    .await;
    assert!(!by_client.body.as_array().unwrap().is_empty());
    assert_eq!(get(&s, &token, "/logs?to=2000-01-01").await.body, json!([]));
    assert_eq!(
        get(&s, &token, "/logs?from=2999-01-01T00:00:00Z")
            .await
            .body,
        json!([])
    );
    assert_auth0_error(
        &get(&s, &token, "/logs?from=yesterday").await,
        400,
        "invalid_query_string",
    );
    let first = get(&s, &token, "/logs?per_page=1").await;
    assert_eq!(first.body.as_array().unwrap().len(), 1);

    let id = success["log_id"].as_str().unwrap();
    let one = get(&s, &token, &format!("/logs/{id}")).await;
    assert_eq!(&one.body, success);
    assert_auth0_error(
        &get(&s, &token, "/logs/not-a-uuid").await,
        404,
        "inexistent_log",
    );
}

/// The path and query (after `/api/v2`) of a `Link: <...>; rel="next"` answer.
fn next_link(res: &Res) -> String {
    let link = res.headers["link"].to_str().unwrap();
    let url = link
        .strip_prefix('<')
        .and_then(|l| l.strip_suffix(">; rel=\"next\""))
        .unwrap_or_else(|| panic!("a next link: {link}"));
    let at = url
        .find("/api/v2/")
        .expect("an absolute management API URL");
    url[at + "/api/v2".len()..].to_owned()
}

/// Reads the log from `path` (a checkpoint request) until the ids read are `want` or 10 s
/// have passed (a transaction of another test still running holds events back, never
/// reorders them); returns the ids in the order read and the last request's next link.
async fn export(
    s: &LoginSetup,
    token: &str,
    mut path: String,
    want: usize,
) -> (Vec<String>, String) {
    let mut ids = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let res = get(s, token, &path).await;
        assert_eq!(res.status, 200, "{path}: {:?}", res.body);
        let page = res.body.as_array().expect("a bare array").clone();
        ids.extend(
            page.iter()
                .map(|l| l["log_id"].as_str().unwrap().to_owned()),
        );
        let next = next_link(&res);
        if page.is_empty() {
            assert_eq!(next, path, "an empty page links to the same checkpoint");
            if ids.len() >= want || std::time::Instant::now() > deadline {
                return (ids, next);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        path = next;
    }
}

#[tokio::test]
async fn logs_are_exported_from_a_checkpoint_each_event_once_in_commit_order() {
    let (s, token) = after_login().await;
    let all = get(&s, &token, "/logs?per_page=100").await;
    let mut every: Vec<String> = all
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["log_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(every.len() >= 2, "a login leaves several events: {every:?}");

    // Two at a time from the first event, as auth0-python sends it (page parameters along).
    let (read, last) = export(
        &s,
        &token,
        "/logs?page=0&per_page=50&include_totals=true&take=2".into(),
        every.len(),
    )
    .await;
    let mut sorted = read.clone();
    sorted.sort();
    every.sort();
    assert_eq!(sorted, every, "every event exactly once");

    // An event whose transaction is still open holds back the events committed after it,
    // so a reader that passes the later ones cannot skip the earlier one.
    let event = |description: &str| gatehouse::db::events::NewEvent {
        event_type: "tenant_updated",
        description: description.into(),
        ..Default::default()
    };
    let mut open = s.app.pool.begin().await.unwrap();
    let early = gatehouse::db::events::record(&mut *open, s.tenant.tenant_id, &event("early"))
        .await
        .unwrap();
    let late = gatehouse::db::events::record(&s.app.pool, s.tenant.tenant_id, &event("late"))
        .await
        .unwrap();
    let held = get(&s, &token, &last).await;
    assert_eq!(held.body, json!([]), "nothing passes the open transaction");
    assert_eq!(next_link(&held), last);
    open.commit().await.unwrap();
    let (after, _) = export(&s, &token, last, 2).await;
    assert_eq!(
        after,
        [early.to_string(), late.to_string()],
        "in commit order"
    );

    let fields = get(
        &s,
        &token,
        &format!("/logs?from={early}&take=1&fields=log_id"),
    )
    .await;
    assert_eq!(fields.body, json!([{"log_id": late.to_string()}]));
    for (query, field) in [
        ("take=0", "take"),
        ("take=101", "take"),
        ("from=not-a-log-or-date&take=5", "from"),
        ("from=6f1c1a2e-0000-4000-8000-000000000000", "from"),
    ] {
        let res = get(&s, &token, &format!("/logs?{query}")).await;
        assert_auth0_error(&res, 400, "invalid_query_string");
        assert!(
            res.body["message"].as_str().unwrap().contains(field),
            "{query}: {}",
            res.body
        );
    }
}

#[tokio::test]
async fn events_restored_into_another_cluster_come_before_its_own() {
    let (s, token) = after_login().await;
    let pool = &s.app.pool;
    // As after pg_dump and restore into a new cluster: the events carry transaction ids this
    // cluster has not reached, and `event_order` names the cluster they came from.
    sqlx::query(
        "UPDATE events SET txn =
            ((pg_snapshot_xmax(pg_current_snapshot())::text::bigint + 1000000)::text)::xid8",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("UPDATE event_order SET cluster = 42")
        .execute(pool)
        .await
        .unwrap();
    let (stuck, _) = export(&s, &token, "/logs?take=100".into(), 0).await;
    assert!(stuck.is_empty(), "ids from the future are never final");

    let restored: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap();
    let moved = gatehouse::db::events::adopt_cluster(pool).await.unwrap();
    assert_eq!(moved, u64::try_from(restored).unwrap());
    assert_eq!(
        gatehouse::db::events::adopt_cluster(pool).await.unwrap(),
        0,
        "once"
    );

    let (old, last) = export(&s, &token, "/logs?take=100".into(), 2).await;
    assert!(old.len() >= 2, "the restored events: {old:?}");
    let new = gatehouse::db::events::record(
        pool,
        s.tenant.tenant_id,
        &gatehouse::db::events::NewEvent {
            event_type: "tenant_updated",
            description: "after the restore".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (after, _) = export(&s, &token, last, 1).await;
    assert_eq!(
        after,
        [new.to_string()],
        "a new event follows the restored ones"
    );
}

#[tokio::test]
async fn a_users_logs_are_paged_and_sorted() {
    let (s, token) = after_login().await;
    assert_eq!(login(&s, &s.web, &[]).await.status(), 302, "Jan again");
    let path = format!("{JAN_PATH}/logs");
    let newest = get(&s, &token, &format!("{path}?include_totals=true")).await;
    assert_eq!(newest.status, 200, "{:?}", newest.body);
    let logs = newest.body["logs"].as_array().unwrap().clone();
    assert!(logs.len() >= 2, "two logins: {logs:?}");
    assert!(logs.iter().all(|l| l["user_id"] == JAN));
    assert_eq!(newest.body["total"], json!(logs.len()));
    assert_eq!(newest.body["length"], json!(logs.len()));
    assert_eq!(newest.body["start"], 0);
    let dates = |v: &[Value]| -> Vec<String> {
        v.iter()
            .map(|l| l["date"].as_str().unwrap().to_owned())
            .collect()
    };
    let oldest = get(&s, &token, &format!("{path}?sort=date:1")).await;
    let mut reversed = dates(oldest.body.as_array().unwrap());
    reversed.reverse();
    assert_eq!(reversed, dates(&logs));
    let one = get(&s, &token, &format!("{path}?per_page=1&page=1")).await;
    assert_eq!(one.body.as_array().unwrap().len(), 1);
    assert_eq!(one.body[0], logs[1]);
    let nobody = get(&s, &token, "/users/exact%7Cnobody/logs").await;
    assert_eq!(nobody.body, json!([]));
    assert_auth0_error(
        &get(&s, &token, &format!("{path}?sort=name:1")).await,
        400,
        "invalid_query_string",
    );
    assert_auth0_error(
        &get(&s, &token, &format!("{path}?take=5")).await,
        400,
        "invalid_query_string",
    );
}
