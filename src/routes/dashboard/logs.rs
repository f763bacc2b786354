//! The tenant's log: login events and configuration changes, newest first, filterable by type,
//! connection and user; a failed login shows the step that failed and the upstream's answer.

use actix_web::{web, HttpRequest};
use askama::Template;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::page::{encode, not_found, render, DashResult, Layout, Pager};
use super::session::TenantView;
use super::tenants::tenant_layout;
use crate::db;
use crate::db::events::{Event, EventFilter, Order};
use crate::domain::event_kind::EVENT_KINDS;
use crate::state::AppState;

const PAGE_SIZE: i64 = 50;

pub struct EventRow {
    pub event_id: String,
    pub at: String,
    pub event_type: String,
    /// The kind in words ("Connection changed").
    pub label: String,
    pub failed: bool,
    pub description: String,
    /// What a change changed, in words ("client_id, client secret replaced").
    pub changes: String,
    pub connection: String,
    pub user_id: String,
    pub user_link: String,
    pub actor: String,
    pub failed_step: String,
    pub upstream: String,
}

#[derive(Template)]
#[template(path = "dashboard/logs/list.html")]
pub struct LogsPage {
    pub layout: Layout,
    pub events: Vec<EventRow>,
    pub pager: Pager,
    pub types: Vec<super::page::Choice>,
    pub connection: String,
    pub user: String,
}

#[derive(Template)]
#[template(path = "dashboard/logs/detail.html")]
pub struct EventPage {
    pub layout: Layout,
    pub row: EventRow,
    pub trace_id: String,
    pub client_id: String,
    pub ip: String,
    pub user_agent: String,
    pub details: String,
}

fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.chars().take(2000).collect(),
        Some(other) => other.to_string().chars().take(2000).collect(),
    }
}

/// A change event's `changes`, as a list of what changed (values are in the entry's details;
/// secrets never are).
fn changes(details: &Value) -> String {
    let Some(list) = details.get("changes").and_then(Value::as_array) else {
        return String::new();
    };
    list.iter()
        .filter_map(|c| {
            let field = c.get("field")?.as_str()?;
            Some(match (c.get("from"), c.get("to")) {
                (_, Some(Value::String(s))) if s == "[replaced]" => format!("{field} replaced"),
                (Some(from), Some(to)) => format!("{field}: {} → {}", short(from), short(to)),
                _ => field.to_owned(),
            })
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn short(v: &Value) -> String {
    let text = match v {
        Value::Null => "(none)".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match text.chars().count() > 80 {
        true => text.chars().take(80).collect::<String>() + "…",
        false => text,
    }
}

fn row(e: &Event) -> EventRow {
    let status = text(e.details.pointer("/upstream/status"));
    let answer = text(e.details.pointer("/upstream/answer"));
    let upstream = match (status.is_empty(), answer.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!("HTTP {status}"),
        (true, false) => answer,
        (false, false) => format!("HTTP {status}: {answer}"),
    };
    EventRow {
        event_id: e.event_id.to_string(),
        at: e.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        event_type: e.event_type.clone(),
        label: crate::domain::event_kind::label(&e.event_type),
        changes: changes(&e.details),
        // Auth0's codes of failures start with `f` (f, feacft, fertft).
        failed: crate::domain::event_kind::auth0_code(&e.event_type).starts_with('f'),
        description: e.description.clone(),
        connection: e.connection.clone().unwrap_or_default(),
        user_link: e.user_id.as_deref().map(encode).unwrap_or_default(),
        user_id: e.user_id.clone().unwrap_or_default(),
        actor: e.actor.clone().unwrap_or_default(),
        failed_step: text(e.details.get("failed_step")),
        upstream,
    }
}

#[derive(Deserialize)]
pub struct LogQuery {
    #[serde(default, rename = "type")]
    event_type: String,
    #[serde(default)]
    connection: String,
    #[serde(default)]
    user: String,
    page: Option<String>,
}

impl LogQuery {
    /// The address of page `page` of the log with these filters.
    fn link(&self, slug: &str, page: i64) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("type", &self.event_type),
            ("connection", &self.connection),
            ("user", &self.user),
        ] {
            if !value.trim().is_empty() {
                q.append_pair(key, value.trim());
            }
        }
        q.append_pair("page", &page.to_string());
        format!("/tenants/{slug}/logs?{}", q.finish())
    }
}

fn given(s: &str) -> Option<String> {
    Some(s.trim())
        .filter(|s| !s.is_empty() && s.len() <= 300)
        .map(str::to_owned)
}

pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    view: TenantView,
    query: web::Query<LogQuery>,
) -> DashResult {
    let filter = EventFilter {
        event_types: given(&query.event_type).map(|t| vec![t]),
        connection: given(&query.connection),
        user_id: given(&query.user),
        ..Default::default()
    };
    let number = Pager::requested(query.page.as_deref());
    let events = db::events::page(
        &state.pool,
        view.tenant.tenant_id,
        &filter,
        Order::NewestFirst,
        number * PAGE_SIZE,
        PAGE_SIZE,
    )
    .await?;
    let total = db::events::count(&state.pool, view.tenant.tenant_id, &filter).await?;
    let slug = &view.tenant.slug;
    let pager = Pager::new(number, PAGE_SIZE, events.len(), total, |n| {
        query.link(slug, n)
    });
    let labels: Vec<(&str, String)> = EVENT_KINDS
        .iter()
        .map(|k| (k.name, crate::domain::event_kind::label(k.name)))
        .collect();
    let mut types = vec![("", "All events")];
    types.extend(labels.iter().map(|(name, label)| (*name, label.as_str())));
    let page = LogsPage {
        layout: tenant_layout(&req, &state.settings, &view, "logs"),
        events: events.iter().map(row).collect(),
        pager,
        types: super::page::Choice::list(&types, query.event_type.trim()),
        connection: query.connection.clone(),
        user: query.user.clone(),
    };
    render(&req, &state.settings, &page)
}

pub async fn detail(
    req: HttpRequest,
    state: web::Data<AppState>,
    view: TenantView,
    path: web::Path<(String, String)>,
) -> DashResult {
    let event_id = Uuid::parse_str(&path.1).map_err(|_| not_found())?;
    let event = db::events::by_id(&state.pool, view.tenant.tenant_id, event_id)
        .await?
        .ok_or_else(not_found)?;
    let page = EventPage {
        layout: tenant_layout(&req, &state.settings, &view, "logs"),
        row: row(&event),
        trace_id: event.trace_id.map(|t| t.to_string()).unwrap_or_default(),
        client_id: event.client_id.clone().unwrap_or_default(),
        ip: event.ip.clone().unwrap_or_default(),
        user_agent: event.user_agent.clone().unwrap_or_default(),
        details: serde_json::to_string_pretty(&event.details).unwrap_or_default(),
    };
    render(&req, &state.settings, &page)
}
