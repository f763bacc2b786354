//! `/healthz` (the process is alive: what a load balancer should check, as it stays 200 on
//! every node through a database failover) and `/readyz` (this node can serve now: its
//! database answers and is the writable primary, not a standby in recovery; for deploys and
//! monitoring, as it fails on every node at once while the database fails over).

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::db;
use crate::state::AppState;

/// What a probe answers: its status, and why when it is not ready.
#[derive(Serialize)]
struct Probe {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Probe {
        status: "ok",
        reason: None,
    })
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let unavailable = |reason| {
        HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "5"))
            .json(Probe {
                status: "unavailable",
                reason: Some(reason),
            })
    };
    match db::in_recovery(&state.pool).await {
        Ok(false) => HttpResponse::Ok().json(Probe {
            status: "ready",
            reason: None,
        }),
        Ok(true) => {
            tracing::warn!("readiness check: the database is a read-only standby");
            unavailable("database is a read-only standby (in recovery)")
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            unavailable("database unreachable")
        }
    }
}
