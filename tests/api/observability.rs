//! Metrics, login traces, connection health and request ids.

use std::collections::HashMap;

use fake_exact::{Consent, MeMode, TokenMode};
use serde_json::Value;

use crate::helpers::*;
use crate::login::*;

/// Parses the Prometheus text exposition strictly enough to catch a malformed line; returns
/// each sample as (name, labels, value).
fn parse_exposition(text: &str) -> Vec<(String, HashMap<String, String>, f64)> {
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let rest = rest.trim_start();
            assert!(
                rest.starts_with("HELP ") || rest.starts_with("TYPE "),
                "bad comment line: {line}"
            );
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let body = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels: {line}"));
                let mut labels = HashMap::new();
                for pair in body.split("\",").filter(|p| !p.is_empty()) {
                    let (k, v) = pair
                        .split_once("=\"")
                        .unwrap_or_else(|| panic!("bad label: {line}"));
                    labels.insert(k.to_owned(), v.trim_end_matches('"').to_owned());
                }
                (name.to_owned(), labels)
            }
            None => (series.to_owned(), HashMap::new()),
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name: {line}"
        );
        samples.push((name, labels, value));
    }
    samples
}

async fn metrics(s: &LoginSetup) -> Vec<(String, HashMap<String, String>, f64)> {
    let res = s
        .app
        .http
        .get(s.app.admin_url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    parse_exposition(&res.text().await.unwrap())
}

fn value(
    samples: &[(String, HashMap<String, String>, f64)],
    name: &str,
    labels: &[(&str, &str)],
) -> f64 {
    samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

#[tokio::test]
async fn completed_and_failed_logins_move_the_right_counters() {
    let s = login_setup().await;
    login(&s, &s.web, &[]).await;
    s.fake.set_token_mode(TokenMode::InvalidGrant);
    login(&s, &s.web, &[]).await;
    let m = metrics(&s).await;
    let tenant = [("tenant", "acme"), ("connection", "exact")];
    assert_eq!(value(&m, "gatehouse_logins_started_total", &tenant), 2.0);
    assert_eq!(value(&m, "gatehouse_logins_completed_total", &tenant), 1.0);
    assert_eq!(
        value(
            &m,
            "gatehouse_logins_failed_total",
            &[("tenant", "acme"), ("step", "upstream_token_exchange")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &m,
            "gatehouse_upstream_request_duration_seconds_count",
            &[
                ("strategy", "exact"),
                ("call", "token"),
                ("outcome", "refused")
            ]
        ),
        1.0
    );
    assert_eq!(
        value(
            &m,
            "gatehouse_upstream_request_duration_seconds_count",
            &[("call", "profile"), ("outcome", "ok")]
        ),
        1.0
    );
    assert!(
        value(
            &m,
            "gatehouse_http_requests_total",
            &[("route", "/authorize"), ("status", "302")]
        ) >= 2.0
    );
    // Summed over the node's pools (each worker has its own); the logins above opened some.
    assert!(value(&m, "gatehouse_db_pool_connections", &[]) >= 1.0);
    assert!(m.iter().any(|(n, _, _)| n == "gatehouse_cache_hits_total"));
    let dropped = m
        .iter()
        .find(|(n, _, _)| n == "gatehouse_events_dropped_total")
        .expect("token events dropped are counted");
    assert_eq!(dropped.2, 0.0, "none while the database answers");
}

#[tokio::test]
async fn metric_labels_are_bounded_and_hold_no_secrets() {
    let s = login_setup().await;
    let res = login(&s, &s.web, &[]).await;
    let code = location_params(&res).1["code"].clone();
    s.app
        .http
        .get(s.app.tenant_url(&s.tenant, "/no/such/path/12345"))
        .send()
        .await
        .unwrap();
    let m = metrics(&s).await;
    let allowed_labels = [
        "route",
        "method",
        "status",
        "tenant",
        "connection",
        "step",
        "strategy",
        "call",
        "outcome",
        "le",
    ];
    for (name, labels, _) in &m {
        for (k, v) in labels {
            assert!(
                allowed_labels.contains(&k.as_str()),
                "{name}: unexpected label {k}"
            );
            for forbidden in [
                code.as_str(),
                "b0b2c3d4",
                "secret-",
                &s.web.client_id,
                "12345",
            ] {
                assert!(
                    !v.contains(forbidden),
                    "{name}{{{k}={v}}} holds an unbounded or secret value"
                );
            }
        }
    }
    assert!(
        value(
            &m,
            "gatehouse_http_requests_total",
            &[("route", "unmatched")]
        ) >= 1.0
    );
}

/// The trace id the application was given in `error_description`.
fn trace_of(res: &reqwest::Response) -> String {
    let description = location_params(res).1["error_description"].clone();
    let start = description
        .find("(trace ")
        .expect("the error names its trace")
        + 7;
    description[start..start + 36].to_owned()
}

async fn trace_event(s: &LoginSetup, trace: &str) -> Value {
    sqlx::query_scalar(
        "SELECT details FROM events WHERE trace_id = $1::uuid AND type = 'login_failure'",
    )
    .bind(trace)
    .fetch_one(&s.app.pool)
    .await
    .expect("the trace is in the events")
}

#[tokio::test]
async fn a_login_failing_at_each_step_leaves_a_trace_reachable_from_its_id() {
    let s = login_setup().await;
    s.fake.set_token_mode(TokenMode::InvalidGrant);
    let res = login(&s, &s.web, &[]).await;
    let trace = trace_event(&s, &trace_of(&res)).await;
    assert_eq!(trace["failed_step"], "upstream_token_exchange");
    assert_eq!(trace["upstream"]["status"], 400);
    assert!(trace["upstream"]["answer"]
        .as_str()
        .unwrap()
        .contains("invalid or empty chainId"));

    s.fake.set_token_mode(TokenMode::Ok);
    s.fake.set_me_mode(MeMode::EmptyResults);
    let res = login(&s, &s.web, &[]).await;
    let trace = trace_event(&s, &trace_of(&res)).await;
    assert_eq!(trace["failed_step"], "profile_fetch");
    assert_eq!(trace["upstream"]["answer"], r#"{"d":{"results":[]}}"#);

    s.fake.set_me_mode(MeMode::Ok);
    s.fake.set_consent(Consent::Decline);
    let res = login(&s, &s.web, &[]).await;
    let trace = trace_event(&s, &trace_of(&res)).await;
    assert_eq!(trace["failed_step"], "callback");
    assert!(trace["upstream"]["answer"]
        .as_str()
        .unwrap()
        .contains("access_denied"));
    let steps: Vec<&str> = trace["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["authorize", "callback"]);
}

#[tokio::test]
async fn connection_health_counts_logins_and_hints_at_a_wrong_secret() {
    let s = login_setup().await;
    login(&s, &s.web, &[]).await;
    login(&s, &s.web, &[]).await;
    s.fake.set_token_mode(TokenMode::InvalidGrant);
    login(&s, &s.web, &[]).await;
    let connection = gatehouse::db::connections::by_name(&s.app.pool, s.tenant.tenant_id, "exact")
        .await
        .unwrap()
        .unwrap();
    let health = gatehouse::services::health::connection_health(
        &s.app.pool,
        &connection,
        &format!("{}login/callback", s.tenant.issuer),
    )
    .await
    .unwrap();
    assert_eq!(
        (health.last_hour.succeeded, health.last_hour.failed),
        (2, 1)
    );
    assert_eq!(health.failure_steps[0].step, "upstream_token_exchange");
    assert!(health.upstream_ms_p50.is_some() && health.upstream_ms_p95 >= health.upstream_ms_p50);
    assert_eq!(
        health.last_failure.as_ref().unwrap().upstream_status,
        Some(400)
    );
    assert!(
        health.hints.iter().any(|h| h.contains("client secret")),
        "{:?}",
        health.hints
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_well_formed_incoming_ones_are_kept() {
    let s = login_setup().await;
    let url = s
        .app
        .tenant_url(&s.tenant, "/.well-known/openid-configuration");
    let res = s
        .app
        .http
        .get(&url)
        .header("X-Request-Id", "abc-123.x_y")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123.x_y");
    let res = s
        .app
        .http
        .get(&url)
        .header("X-Request-Id", "bad id <script>")
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let res = s
        .app
        .http
        .get(s.app.admin_url("/nothing-here"))
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key("x-request-id"));
}
