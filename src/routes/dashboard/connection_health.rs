//! A connection's Health tab: success rate and volume over the last hour and day, where logins
//! fail, upstream latency, the last failed login (linked to its log entry) and hints, from
//! `services::health`.

use actix_web::{web, HttpRequest};
use askama::Template;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::connection_badges::{percent, tone};
use super::connections::find;
use super::page::{encode, render, DashResult, Layout};
use super::session::TenantView;
use super::tenants::{issuer, tenant_layout};
use crate::config::Settings;
use crate::db;
use crate::db::connections::Connection;
use crate::db::events::{EventFilter, Order};
use crate::db::tenants::Tenant;
use crate::domain::event_kind::LOGIN_FAILURE;
use crate::services::health::{self, ConnectionHealth, LastFailure, Window};
use crate::state::AppState;

/// The longest upstream answer the page shows (the log entry has all that was kept).
const MAX_ANSWER: usize = 2000;

/// One time window: the big success rate and a bar of succeeded / failed / abandoned.
pub struct WindowView {
    pub title: &'static str,
    /// `66.7%`, or `—` without logins.
    pub rate: String,
    /// `good`, `fair`, `bad` or `none`: the colour of the rate.
    pub tone: &'static str,
    pub total: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub abandoned: i64,
    /// Widths of the bar's parts, in the `w-0`…`w-100` classes (steps of 5, summing to 100).
    pub succeeded_w: u8,
    pub failed_w: u8,
    pub abandoned_w: u8,
}

/// One failing step, with its share of the day's failures.
pub struct StepView {
    pub step: String,
    pub count: i64,
    pub share: String,
    pub width: u8,
}

pub struct LastFailureView {
    pub at: String,
    pub ago: String,
    pub step: String,
    pub description: String,
    pub upstream_status: String,
    pub upstream_answer: String,
    pub trace_id: String,
    /// The log entry's id, empty when it cannot be found (the log was trimmed).
    pub event_id: String,
}

#[derive(Template)]
#[template(path = "dashboard/connections/health.html")]
pub struct HealthPage {
    /// The kind of connection ("Exact Online").
    pub kind: String,
    pub layout: Layout,
    pub connection_id: String,
    pub name: String,
    /// The last hour and the last 24 hours.
    pub windows: Vec<WindowView>,
    pub steps: Vec<StepView>,
    pub p50: String,
    pub p95: String,
    pub last_failure: Option<LastFailureView>,
    pub hints: Vec<String>,
    /// The log filtered to this connection's failed logins.
    pub failures_link: String,
    pub as_of: String,
}

/// `{issuer}login/callback`: what the provider must have as the app's redirect URI.
pub fn callback_url(settings: &Settings, tenant: &Tenant) -> String {
    format!("{}login/callback", issuer(settings, tenant))
}

/// The health of `c`, as the dashboard and the management API show it.
pub async fn of(
    state: &AppState,
    tenant: &Tenant,
    c: &Connection,
) -> Result<ConnectionHealth, sqlx::Error> {
    health::connection_health(&state.pool, c, &callback_url(&state.settings, tenant)).await
}

/// What a connection's strategy is called, for page headings.
pub fn kind_of(c: &Connection) -> String {
    crate::providers::by_name(&c.strategy)
        .map(|s| s.display_name().to_owned())
        .unwrap_or_else(|| c.strategy.clone())
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    view: TenantView,
    path: web::Path<(String, String)>,
) -> DashResult {
    let tenant_id = view.tenant.tenant_id;
    let c = find(&state, tenant_id, &path.1).await?;
    let h = of(&state, &view.tenant, &c).await?;
    let now = Utc::now();
    let last_failure = match &h.last_failure {
        Some(last) => Some(last_failure_view(&state, tenant_id, &c.name, last, now).await?),
        None => None,
    };
    let page = HealthPage {
        kind: kind_of(&c),
        layout: tenant_layout(&req, &state.settings, &view, "connections"),
        failures_link: format!(
            "/tenants/{}/logs?type={LOGIN_FAILURE}&connection={}",
            view.tenant.slug,
            encode(&c.name)
        ),
        connection_id: c.connection_id,
        name: c.name,
        windows: vec![
            window_view("Last hour", &h.last_hour),
            window_view("Last 24 hours", &h.last_day),
        ],
        steps: step_views(&h),
        p50: millis(h.upstream_ms_p50),
        p95: millis(h.upstream_ms_p95),
        last_failure,
        hints: h.hints,
        as_of: now.format("%H:%M:%S UTC").to_string(),
    };
    render(&req, &state.settings, &page)
}

async fn last_failure_view(
    state: &AppState,
    tenant_id: Uuid,
    connection: &str,
    last: &LastFailure,
    now: DateTime<Utc>,
) -> Result<LastFailureView, sqlx::Error> {
    let event_id = match last.trace_id {
        Some(trace_id) => {
            let filter = EventFilter {
                event_types: Some(vec![LOGIN_FAILURE.into()]),
                connection: Some(connection.to_owned()),
                trace_id: Some(trace_id),
                ..Default::default()
            };
            db::events::page(&state.pool, tenant_id, &filter, Order::NewestFirst, 0, 1)
                .await?
                .first()
                .map(|e| e.event_id.to_string())
                .unwrap_or_default()
        }
        None => String::new(),
    };
    Ok(LastFailureView {
        at: last.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        ago: ago(now, &last.at),
        step: last.step.clone().unwrap_or_default(),
        description: last.description.clone(),
        upstream_status: last
            .upstream_status
            .map(|s| s.to_string())
            .unwrap_or_default(),
        upstream_answer: last
            .upstream_answer
            .as_deref()
            .unwrap_or_default()
            .chars()
            .take(MAX_ANSWER)
            .collect(),
        trace_id: last.trace_id.map(|t| t.to_string()).unwrap_or_default(),
        event_id,
    })
}

/// `part` of `whole` as a width class number: a multiple of 5, at least 5 when `part > 0`.
fn width(part: i64, whole: i64) -> u8 {
    if part <= 0 || whole <= 0 {
        return 0;
    }
    let pct = (part as f64 / whole as f64 * 100.0).min(100.0);
    (((pct / 5.0).round() as u8) * 5).max(5)
}

/// Widths of parts of one bar that add up to 100 (0 when all parts are 0).
fn widths(parts: [i64; 3]) -> [u8; 3] {
    let whole: i64 = parts.iter().sum();
    let mut w = parts.map(|p| width(p, whole));
    let sum: i32 = w.iter().map(|&x| i32::from(x)).sum();
    if sum > 0 && sum != 100 {
        // Give the rounding difference to the largest part.
        let largest = (0..3).max_by_key(|&i| (parts[i], 3 - i)).unwrap_or(0);
        w[largest] = (i32::from(w[largest]) + 100 - sum).clamp(0, 100) as u8;
    }
    w
}

fn window_view(title: &'static str, w: &Window) -> WindowView {
    let [succeeded_w, failed_w, abandoned_w] = widths([w.succeeded, w.failed, w.abandoned]);
    WindowView {
        title,
        rate: w.success_rate.map(percent).unwrap_or_else(|| "—".into()),
        tone: tone(w.success_rate),
        total: w.succeeded + w.failed + w.abandoned,
        succeeded: w.succeeded,
        failed: w.failed,
        abandoned: w.abandoned,
        succeeded_w,
        failed_w,
        abandoned_w,
    }
}

fn step_views(h: &ConnectionHealth) -> Vec<StepView> {
    let whole = h
        .last_day
        .failed
        .max(h.failure_steps.iter().map(|s| s.count).sum());
    h.failure_steps
        .iter()
        .map(|s| StepView {
            step: s.step.clone(),
            count: s.count,
            share: percent(s.count as f64 / whole.max(1) as f64),
            width: width(s.count, whole),
        })
        .collect()
}

/// `12 ms`, `1.4 s`, or `—` when there were no successful logins to measure.
fn millis(ms: Option<f64>) -> String {
    match ms {
        None => "—".into(),
        Some(ms) if ms >= 1000.0 => format!("{:.1} s", ms / 1000.0),
        Some(ms) => format!("{} ms", ms.round() as i64),
    }
}

/// `just now`, `5 min ago`, `3 h ago`, `2 days ago`.
fn ago(now: DateTime<Utc>, at: &DateTime<Utc>) -> String {
    let s = (now - *at).num_seconds().max(0);
    match s {
        0..=59 => "just now".into(),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ if s < 2 * 86_400 => "1 day ago".into(),
        _ => format!("{} days ago", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_are_steps_of_five_that_add_up_to_a_hundred() {
        assert_eq!(widths([2, 1, 0]), [65, 35, 0]);
        assert_eq!(widths([0, 0, 0]), [0, 0, 0]);
        assert_eq!(widths([1, 0, 0]), [100, 0, 0]);
        assert_eq!(widths([1000, 1, 0]), [95, 5, 0]);
        assert_eq!(widths([1, 1, 1]), [30, 35, 35]);
        for parts in [[3, 7, 11], [99, 1, 1], [1, 2, 3], [5, 0, 9]] {
            let w = widths(parts);
            assert_eq!(
                w.iter().map(|&x| u32::from(x)).sum::<u32>(),
                100,
                "{parts:?}"
            );
            assert!(w.iter().all(|x| x % 5 == 0), "{parts:?}");
            for (p, x) in parts.iter().zip(w) {
                assert_eq!(*p > 0, x > 0, "{parts:?}");
            }
        }
    }

    #[test]
    fn numbers_read_plainly() {
        assert_eq!(percent(2.0 / 3.0), "66.7%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(millis(None), "—");
        assert_eq!(millis(Some(12.4)), "12 ms");
        assert_eq!(millis(Some(1450.0)), "1.4 s");
        assert_eq!(tone(Some(0.99)), "good");
        assert_eq!(tone(Some(0.85)), "fair");
        assert_eq!(tone(Some(0.5)), "bad");
        assert_eq!(tone(None), "none");
        let now = Utc::now();
        assert_eq!(ago(now, &now), "just now");
        assert_eq!(ago(now, &(now - chrono::Duration::minutes(5))), "5 min ago");
        assert_eq!(ago(now, &(now - chrono::Duration::hours(3))), "3 h ago");
        assert_eq!(ago(now, &(now - chrono::Duration::days(3))), "3 days ago");
    }
}
