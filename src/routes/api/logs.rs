//! `/api/v2/logs`: the tenant's events (logins, failures with their step, configuration
//! changes) as Auth0 log events, newest first. `type` is Gatehouse's event type
//! (`login_success`, `connection_updated`, ...), not Auth0's short codes.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use super::auth::ManagementToken;
use super::etag;
use super::paging::{self, offset_answer, FieldSelection, Query};
use super::reply::Reply;
use super::users::date;
use crate::db;
use crate::db::events::{Event, EventFilter};
use crate::domain::FieldError;
use crate::error::ApiError;
use crate::state::AppState;

pub fn log_json(event: &Event) -> Value {
    let mut out = json!({
        "log_id": event.event_id,
        "date": date(&event.at),
        "type": event.event_type,
        "description": event.description,
        "client_id": event.client_id,
        "connection": event.connection,
        "user_id": event.user_id,
        "details": event.details,
    });
    if let Some(trace) = event.trace_id {
        out["trace_id"] = json!(trace);
    }
    if let Some(actor) = &event.actor {
        out["actor"] = json!(actor);
    }
    out
}

/// `from`/`to`: an RFC 3339 time or a date (a date means its start, in UTC).
fn moment(q: &Query, key: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(text) = q.raw(key, 40)? else {
        return Ok(None);
    };
    if let Ok(at) = DateTime::parse_from_rfc3339(&text) {
        return Ok(Some(at.with_timezone(&Utc)));
    }
    NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Some(t.and_utc()))
        .ok_or_else(|| {
            ApiError::invalid_query(FieldError::new(
                key,
                "must be a date (2026-01-31) or an RFC 3339 time (2026-01-31T12:00:00Z)",
            ))
        })
}

pub async fn list(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    token.require("read:logs")?;
    let q = Query::parse(&req);
    let (page, per_page, include_totals) = paging::offset(&q)?;
    let select = FieldSelection::parse(&q)?;
    let filter = EventFilter {
        event_type: q.text("type", 64)?,
        user_id: q.text("user_id", 300)?,
        connection: q.text("connection", 128)?,
        client_id: q.text("client_id", 64)?,
        trace_id: None,
        from: moment(&q, "from")?,
        to: moment(&q, "to")?,
    };
    let (events, total) = db::events::page(
        &state.pool,
        token.tenant_id(),
        &filter,
        page * per_page,
        per_page,
    )
    .await?;
    let items = events.iter().map(|e| select.apply(log_json(e))).collect();
    Ok(Reply::ok(offset_answer(
        "logs",
        items,
        page,
        per_page,
        include_totals.then_some(total),
    ))
    .into_response())
}

pub async fn get(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    token.require("read:logs")?;
    let missing = || ApiError::not_found("inexistent_log", "The log event does not exist");
    let event_id = Uuid::parse_str(&id).map_err(|_| missing())?;
    let event = db::events::by_id(&state.pool, token.tenant_id(), event_id)
        .await?
        .ok_or_else(missing)?;
    // Events never change, so the id alone tags them.
    Ok(Reply::ok(log_json(&event))
        .with_etag(etag::tag("log", &id, 0))
        .unless_fresh(&req))
}
