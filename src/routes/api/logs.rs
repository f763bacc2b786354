//! `/api/v2/logs` and `/api/v2/users/{id}/logs`: the tenant's events (logins, failures with
//! their step, configuration changes) as Auth0 log events, by page (newest first) or, for log
//! exporters, from a checkpoint. `type` is Auth0's log event type code (`s`, `f`, `seacft`,
//! `sapi`, ...; `domain::event_kind`), `event` Gatehouse's finer name (`login_success`,
//! `connection_updated`, ...); filters take either.

use actix_web::http::header::{HeaderValue, LINK};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::auth::ManagementToken;
use super::etag;
use super::paging::{self, offset_answer, FieldSelection, Query};
use super::reply::{json_body, Reply};
use super::users::date;
use crate::db;
use crate::db::events::{Event, EventFilter, Order};
use crate::domain::{event_kind, FieldError};
use crate::error::ApiError;
use crate::state::AppState;

/// An event as an Auth0 log event; what was not recorded of its origin (trace, actor, address,
/// browser) is left out.
#[derive(Serialize)]
pub struct LogEntry<'a> {
    log_id: Uuid,
    date: String,
    /// Auth0's log event type code.
    #[serde(rename = "type")]
    auth0_type: &'static str,
    event: &'a str,
    description: &'a str,
    /// What the event concerns; `null` when it concerns none.
    client_id: Option<&'a str>,
    connection: Option<&'a str>,
    user_id: Option<&'a str>,
    /// What the event recorded, free-form per event type.
    details: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
}

impl<'a> LogEntry<'a> {
    pub fn new(event: &'a Event) -> Self {
        LogEntry {
            log_id: event.event_id,
            date: date(&event.at),
            auth0_type: event_kind::auth0_code(&event.event_type),
            event: &event.event_type,
            description: &event.description,
            client_id: event.client_id.as_deref(),
            connection: event.connection.as_deref(),
            user_id: event.user_id.as_deref(),
            details: &event.details,
            trace_id: event.trace_id,
            actor: event.actor.as_deref(),
            ip: event.ip.as_deref(),
            user_agent: event.user_agent.as_deref(),
        }
    }
}

/// An event as JSON, for the fields selection.
pub fn log_json(event: &Event) -> Value {
    json_body(&LogEntry::new(event))
}

/// A time given as an RFC 3339 time or a date (a date means its start, in UTC); `None` if it is
/// neither.
fn parse_moment(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// A page of a listing by time (`page`, `per_page`, `include_totals`, `sort`).
#[derive(Debug, PartialEq)]
struct ByPage {
    page: i64,
    per_page: i64,
    include_totals: bool,
    order: Order,
}

/// How a listing of `/logs` is read.
#[derive(Debug, PartialEq)]
enum Reading {
    Pages(ByPage),
    /// From a checkpoint (`from` a log id, `take`), in commit order: what log exporters use.
    /// As at Auth0, the page parameters are ignored then (SDKs send them along).
    Checkpoint {
        after: Option<Uuid>,
        take: i64,
    },
}

/// The paging of a `/logs` request, and the time window of its `from` (a time, not a log id)
/// and `to`. `from` is a log id for a checkpoint and a time for a window; `take` alone reads
/// from the first event.
fn reading(q: &Query) -> Result<(Reading, EventFilter), ApiError> {
    let (page, per_page, include_totals) = paging::offset(q)?;
    let order = match q.text("sort", 20)?.as_deref() {
        None | Some("date:-1") => Order::NewestFirst,
        Some("date:1") => Order::OldestFirst,
        Some(_) => {
            return Err(ApiError::invalid_query(FieldError::new(
                "sort",
                "must be date:-1 (newest first) or date:1 (oldest first)",
            )))
        }
    };
    let take = q.integer("take", 1, paging::MAX_PER_PAGE)?;
    let from = q.text("from", 64)?;
    let after = from.as_deref().and_then(|f| Uuid::parse_str(f).ok());
    let window_start = match (&from, after) {
        (Some(text), None) => Some(parse_moment(text).ok_or_else(|| {
            ApiError::invalid_query(FieldError::new(
                "from",
                "must be a log id (to read from a checkpoint), a date (2026-01-31) or an RFC 3339 time",
            ))
        })?),
        _ => None,
    };
    let to = match q.text("to", 64)? {
        None => None,
        Some(text) => Some(parse_moment(&text).ok_or_else(|| {
            ApiError::invalid_query(FieldError::new(
                "to",
                "must be a date (2026-01-31) or an RFC 3339 time (2026-01-31T12:00:00Z)",
            ))
        })?),
    };
    let mut search = Search {
        event_type: q.text("type", 64)?,
        user_id: q.text("user_id", 300)?,
        connection: q.text("connection", 128)?,
        client_id: q.text("client_id", 64)?,
    };
    if let Some(lucene) = q.text("q", 600)? {
        search.add_terms(&lucene)?;
    }
    let filter = EventFilter {
        event_types: search
            .event_type
            .as_deref()
            .map(event_kind::names_selected_by),
        user_id: search.user_id,
        connection: search.connection,
        client_id: search.client_id,
        trace_id: None,
        from: window_start,
        to,
    };
    let reading = if after.is_some() || take.is_some() {
        Reading::Checkpoint {
            after,
            take: take.unwrap_or(paging::DEFAULT_PER_PAGE),
        }
    } else {
        Reading::Pages(ByPage {
            page,
            per_page,
            include_totals,
            order,
        })
    };
    Ok((reading, filter))
}

/// What a listing is narrowed to, from its own parameters and Auth0's `q`.
#[derive(Debug, Default, PartialEq)]
struct Search {
    event_type: Option<String>,
    user_id: Option<String>,
    connection: Option<String>,
    client_id: Option<String>,
}

impl Search {
    /// Adds Auth0's `q` in the form log exporters and alerts use: `field:value` terms (the value
    /// optionally in double quotes) joined by `AND`, on `type`, `user_id`, `client_id` and
    /// `connection`. Anything else is refused by name rather than ignored, which would widen
    /// the answer silently.
    fn add_terms(&mut self, lucene: &str) -> Result<(), ApiError> {
        let invalid = |message: String| ApiError::invalid_query(FieldError::new("q", message));
        for term in lucene.split(" AND ").map(str::trim) {
            let Some((field, value)) = term.split_once(':') else {
                return Err(invalid(format!(
                    "`{term}` is not a field:value term (terms are joined by AND)"
                )));
            };
            let quoted = value.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
            if quoted.is_none() && value.contains(char::is_whitespace) {
                return Err(invalid(format!(
                    "`{term}`: a value with spaces goes in double quotes, and only AND joins terms"
                )));
            }
            let value = quoted.unwrap_or(value);
            if value.is_empty() || value.contains('"') {
                return Err(invalid(format!("`{term}` needs a value")));
            }
            let slot = match field {
                "type" => &mut self.event_type,
                "user_id" => &mut self.user_id,
                "client_id" => &mut self.client_id,
                "connection" => &mut self.connection,
                _ => {
                    return Err(invalid(format!(
                        "searches type, user_id, client_id and connection, not {field}"
                    )))
                }
            };
            if slot.as_deref().is_some_and(|given| given != value) {
                return Err(invalid(format!("{field} is given twice, differently")));
            }
            *slot = Some(value.to_owned());
        }
        Ok(())
    }
}

/// `GET /logs`: newest first by page, or from a checkpoint with a `Link` to the next one.
pub async fn list(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    token.require("read:logs")?;
    let q = Query::parse(&req);
    let select = FieldSelection::parse(&q)?;
    let (reading, filter) = reading(&q)?;
    match reading {
        Reading::Pages(by) => {
            let found = pages(&state, &token, &filter, &by).await?;
            Ok(Reply::ok(found.select(&select)).into_response())
        }
        Reading::Checkpoint { after, take } => {
            checkpoint(&state, &token, &q, &select, &filter, after, take).await
        }
    }
}

/// A page of events as `offset_answer` shapes it (the fields selection still to apply).
struct Page {
    events: Vec<Event>,
    page: i64,
    per_page: i64,
    total: Option<i64>,
}

impl Page {
    fn select(self, select: &FieldSelection) -> Value {
        let items = self
            .events
            .iter()
            .map(|e| select.apply(log_json(e)))
            .collect();
        offset_answer("logs", items, self.page, self.per_page, self.total)
    }
}

async fn pages(
    state: &AppState,
    token: &ManagementToken,
    filter: &EventFilter,
    by: &ByPage,
) -> Result<Page, ApiError> {
    let tenant_id = token.tenant_id();
    let offset = by.page * by.per_page;
    let events = db::events::page(
        &state.pool,
        tenant_id,
        filter,
        by.order,
        offset,
        by.per_page,
    )
    .await?;
    let total = if by.include_totals {
        Some(db::events::count(&state.pool, tenant_id, filter).await?)
    } else {
        None
    };
    Ok(Page {
        events,
        page: by.page,
        per_page: by.per_page,
        total,
    })
}

/// Up to `take` events after the checkpoint, oldest first, as a bare array (as Auth0 answers
/// it) with `Link: <...>; rel="next"` naming the last one as the next checkpoint. An empty
/// page links to the same checkpoint: the exporter asks again later.
async fn checkpoint(
    state: &AppState,
    token: &ManagementToken,
    q: &Query,
    select: &FieldSelection,
    filter: &EventFilter,
    after: Option<Uuid>,
    take: i64,
) -> Result<HttpResponse, ApiError> {
    let tenant_id = token.tenant_id();
    if let Some(id) = after {
        if db::events::by_id(&state.pool, tenant_id, id)
            .await?
            .is_none()
        {
            return Err(ApiError::invalid_query(FieldError::new(
                "from",
                "no log event of this tenant has this id",
            )));
        }
    }
    let events = db::events::after(&state.pool, tenant_id, filter, after, take).await?;
    let next = q.encode_with("from", events.last().map(|e| e.event_id.to_string()));
    let link = format!("<{}?{next}>; rel=\"next\"", token.tenant.url("api/v2/logs"));
    let items: Vec<Value> = events.iter().map(|e| select.apply(log_json(e))).collect();
    let mut res = Reply::ok(Value::Array(items)).into_response();
    if let Ok(value) = HeaderValue::from_str(&link) {
        res.headers_mut().insert(LINK, value);
    }
    Ok(res)
}

/// `GET /users/{id}/logs`: the events of one user, newest first by page (`sort=date:1` for
/// oldest first). With `include_totals` the answer also has `length`, as Auth0's has.
pub async fn for_user(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    token.require("read:logs")?;
    let q = Query::parse(&req);
    let select = FieldSelection::parse(&q)?;
    let (reading, mut filter) = reading(&q)?;
    let Reading::Pages(by) = reading else {
        return Err(ApiError::invalid_query(FieldError::new(
            "from",
            "a user's logs are read by page; read from a checkpoint with /logs?user_id=...",
        )));
    };
    filter.user_id = Some(id.into_inner());
    let found = pages(&state, &token, &filter, &by).await?;
    let length = found.events.len();
    let mut answer = found.select(&select);
    if let Value::Object(map) = &mut answer {
        map.insert("length".into(), Value::from(length));
    }
    Ok(Reply::ok(answer).into_response())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth0_search_terms_fill_the_filters() {
        let mut search = Search::default();
        search
            .add_terms(r#"type:"s" AND user_id:"exact|1 2" AND client_id:abc"#)
            .unwrap();
        assert_eq!(
            search,
            Search {
                event_type: Some("s".into()),
                user_id: Some("exact|1 2".into()),
                client_id: Some("abc".into()),
                connection: None,
            }
        );
        // The same value as a parameter already gave is fine; another is refused.
        search.add_terms("type:s").unwrap();
        assert!(search.add_terms("type:f").is_err());
    }

    #[test]
    fn what_the_search_cannot_honour_is_refused() {
        for bad in [
            "s",
            "type:",
            "type:\"\"",
            "description:login",
            "type:s OR type:f",
            "type:\"s",
        ] {
            assert!(Search::default().add_terms(bad).is_err(), "{bad}");
        }
    }
}
