//! A connection's health from its login events: success rate and volume over the last hour
//! and day, the most common failing steps, upstream latency, the last failure with its trace,
//! and hints for the common misconfigurations.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::db;
use crate::db::connections::Connection;
use crate::db::health::FailedLogin;
use crate::providers::{self, HealthFacts};

#[derive(Clone, Debug, Default, Serialize)]
pub struct Window {
    pub succeeded: i64,
    pub failed: i64,
    /// Logins sent to the provider that never came back (abandoned or not returned).
    pub abandoned: i64,
    pub success_rate: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StepCount {
    pub step: String,
    pub count: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct LastFailure {
    pub at: DateTime<Utc>,
    pub trace_id: Option<Uuid>,
    pub step: Option<String>,
    pub description: String,
    pub upstream_status: Option<i64>,
    pub upstream_answer: Option<String>,
    /// The upstream's address was one the operator forbids (not part of the API's answer).
    #[serde(skip)]
    pub forbidden: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct ConnectionHealth {
    pub last_hour: Window,
    pub last_day: Window,
    pub failure_steps: Vec<StepCount>,
    /// Median and 95th percentile of the time spent at the provider per login (token
    /// exchange plus profile), in milliseconds, over the last day.
    pub upstream_ms_p50: Option<f64>,
    pub upstream_ms_p95: Option<f64>,
    pub last_failure: Option<LastFailure>,
    pub hints: Vec<String>,
}

fn window(succeeded: i64, failed: i64, abandoned: i64) -> Window {
    let total = succeeded + failed + abandoned;
    Window {
        succeeded,
        failed,
        abandoned,
        success_rate: (total > 0).then(|| succeeded as f64 / total as f64),
    }
}

pub async fn connection_health(
    pool: &sqlx::PgPool,
    connection: &Connection,
    callback_url: &str,
) -> Result<ConnectionHealth, sqlx::Error> {
    let (tenant_id, connection_id, connection_name) = (
        connection.tenant_id,
        connection.connection_id.as_str(),
        connection.name.as_str(),
    );
    let db::health::Outcomes {
        hour_succeeded: hour_ok,
        hour_failed,
        day_succeeded: day_ok,
        day_failed,
    } = db::health::outcomes(pool, tenant_id, connection_name).await?;
    let (hour_abandoned, day_abandoned) =
        db::health::abandoned(pool, tenant_id, connection_id).await?;
    let failure_steps = db::health::failure_steps(pool, tenant_id, connection_name).await?;
    let (p50, p95) = db::health::upstream_ms(pool, tenant_id, connection_name).await?;
    let last = db::health::last_failure(pool, tenant_id, connection_name).await?;
    let last_failure = last.map(
        |FailedLogin {
             at,
             trace_id,
             description,
             details,
         }| LastFailure {
            at,
            trace_id,
            step: details
                .get("failed_step")
                .and_then(Value::as_str)
                .map(str::to_owned),
            description,
            upstream_status: details.pointer("/upstream/status").and_then(Value::as_i64),
            upstream_answer: details
                .pointer("/upstream/answer")
                .and_then(Value::as_str)
                .map(str::to_owned),
            forbidden: details.pointer("/upstream/failure").and_then(Value::as_str)
                == Some("forbidden"),
        },
    );
    let last_day = window(day_ok, day_failed, day_abandoned);
    let hints = hints(connection, &last_day, last_failure.as_ref(), callback_url);
    Ok(ConnectionHealth {
        last_hour: window(hour_ok, hour_failed, hour_abandoned),
        last_day,
        failure_steps: failure_steps
            .into_iter()
            .map(|(step, count)| StepCount { step, count })
            .collect(),
        upstream_ms_p50: p50,
        upstream_ms_p95: p95,
        last_failure,
        hints,
    })
}

/// Plain-language hints for what usually causes the failures seen: the strategy's own, and
/// those that hold for every strategy.
fn hints(
    connection: &Connection,
    day: &Window,
    last: Option<&LastFailure>,
    callback_url: &str,
) -> Vec<String> {
    let answer = last
        .and_then(|l| l.upstream_answer.as_deref())
        .unwrap_or("")
        .to_ascii_lowercase();
    let facts = HealthFacts {
        last_step: last.and_then(|l| l.step.as_deref()),
        last_status: last.and_then(|l| l.upstream_status),
        last_answer: &answer,
        last_description: last.map(|l| l.description.as_str()).unwrap_or(""),
        abandoned_without_success: day.abandoned > 0 && day.succeeded == 0,
        callback_url,
        options: &connection.options,
    };
    let mut hints = Vec::new();
    if facts.last_step == Some("user_blocked") {
        hints.push("The last failure was a blocked user being turned away (Users in this tenant); the connection itself works.".to_owned());
    }
    if last.is_some_and(|l| l.forbidden) {
        hints.push(format!(
            "{}. Upstream URLs may not point at link-local or metadata addresses (nor at private or loopback ones when GATEHOUSE_UPSTREAM_FORBID says so).",
            facts.last_description
        ));
    }
    if let Some(strategy) = providers::by_name(&connection.strategy) {
        hints.extend(strategy.hints(&facts));
    }
    hints
}
