//! `/healthz` (the process is alive) and `/readyz` (it can reach its database).

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
    match db::ping(&state.pool).await {
        Ok(_) => HttpResponse::Ok().json(Probe {
            status: "ready",
            reason: None,
        }),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .insert_header(("Retry-After", "5"))
                .json(Probe {
                    status: "unavailable",
                    reason: Some("database unreachable"),
                })
        }
    }
}
