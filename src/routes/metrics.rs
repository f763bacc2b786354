//! `GET /metrics` on the admin host: the node's Prometheus exposition.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::state::AppState;

pub async fn exposition(state: web::Data<AppState>) -> HttpResponse {
    let body = state.metrics.render(
        state.pools.totals(),
        &state.cache.stats,
        state.deferred_events.dropped(),
    );
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        ))
        .body(body)
}
