//! A login's trace: each step with its timing and outcome, recorded as one event when the
//! login ends, under the trace id that follows the login from /authorize to the token exchange.

use std::time::Instant;

use serde_json::{json, Value};
use uuid::Uuid;

use super::LoginContext;
use crate::db;
use crate::db::events::NewEvent;
use crate::domain::event_kind::{LOGIN_FAILURE, LOGIN_SUCCESS};
use crate::domain::Requester;
use crate::providers::{LoginStep, UpstreamError};
use crate::services::hosts::TenantHost;

#[derive(Clone)]
pub struct LoginTrace {
    pub trace_id: Uuid,
    pub client_id: Option<String>,
    pub connection: Option<String>,
    /// The browser the login goes through.
    pub requester: Requester,
    steps: Vec<Value>,
    mark: Instant,
}

impl LoginTrace {
    pub fn new(trace_id: Uuid, requester: Requester) -> Self {
        LoginTrace {
            trace_id,
            client_id: None,
            connection: None,
            requester,
            steps: Vec::new(),
            mark: Instant::now(),
        }
    }

    /// Records that `step` succeeded, timed since the previous step.
    pub fn ok(&mut self, step: LoginStep) {
        self.push(step, "ok", None);
    }

    /// Records a step that happened in an earlier request (it took no time here).
    pub fn earlier(&mut self, step: LoginStep, at: chrono::DateTime<chrono::Utc>) {
        self.steps
            .push(json!({ "step": step.as_str(), "outcome": "ok", "at": at }));
    }

    fn push(&mut self, step: LoginStep, outcome: &str, extra: Option<Value>) {
        let now = Instant::now();
        let mut entry = json!({
            "step": step.as_str(),
            "outcome": outcome,
            "ms": (now - self.mark).as_secs_f64() * 1000.0,
            "at": chrono::Utc::now(),
        });
        if let (Some(Value::Object(extra)), Some(obj)) = (extra, entry.as_object_mut()) {
            obj.extend(extra);
        }
        self.steps.push(entry);
        self.mark = now;
    }

    /// Records the login as failed at `step`, with what the upstream said if it was upstream,
    /// and counts it.
    pub async fn fail(
        mut self,
        cx: &LoginContext<'_>,
        tenant: &TenantHost,
        step: LoginStep,
        description: &str,
        upstream: Option<&UpstreamError>,
    ) {
        cx.metrics.login_failed(
            &tenant.tenant.slug,
            self.connection.as_deref().unwrap_or("none"),
            step,
        );
        let upstream_json = upstream.map(|u| {
            json!({ "status": u.status, "answer": u.answer, "failure": u.failure, "description": u.description })
        });
        self.push(
            step,
            "failed",
            upstream_json.clone().map(|u| json!({ "upstream": u })),
        );
        let event = NewEvent {
            event_type: LOGIN_FAILURE,
            trace_id: Some(self.trace_id),
            client_id: self.client_id.clone(),
            connection: self.connection.clone(),
            description: description.to_owned(),
            details: json!({ "failed_step": step.as_str(), "steps": self.steps, "upstream": upstream_json }),
            requester: self.requester.clone(),
            ..Default::default()
        };
        tracing::info!(trace_id = %self.trace_id, step = step.as_str(), "login failed: {description}");
        // Written now when the database answers; otherwise (a failover) queued, to be written
        // when it does, with the time it happened.
        if let Err(e) = db::events::record(cx.pool, tenant.id(), &event).await {
            tracing::warn!(error = %e, trace_id = %self.trace_id, "a failed login's event waits for the database");
            cx.deferred_events.record(cx.pool, tenant.id(), event);
        }
    }

    /// The event of a successful login, to be written in the transaction that issues the code.
    pub fn success_event(&self, user_id: &str) -> NewEvent {
        NewEvent {
            event_type: LOGIN_SUCCESS,
            trace_id: Some(self.trace_id),
            client_id: self.client_id.clone(),
            connection: self.connection.clone(),
            user_id: Some(user_id.to_owned()),
            description: "Successful login".into(),
            details: json!({ "steps": self.steps }),
            requester: self.requester.clone(),
            ..Default::default()
        }
    }
}
