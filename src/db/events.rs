//! The events log of a tenant: logins (successful and failed, with their trace) and audit of
//! configuration changes.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

#[derive(Clone, Debug, Default)]
pub struct NewEvent {
    pub event_type: &'static str,
    pub trace_id: Option<Uuid>,
    pub client_id: Option<String>,
    pub connection: Option<String>,
    pub user_id: Option<String>,
    pub actor: Option<String>,
    pub description: String,
    pub details: serde_json::Value,
}

impl NewEvent {
    /// An audit event for a configuration change by `actor`: "client updated Web app".
    pub fn config_change(event_type: &'static str, actor: &str, subject: &str) -> Self {
        NewEvent {
            event_type,
            actor: Some(actor.to_owned()),
            description: format!("{} {subject}", event_type.replace('_', " ")),
            ..Default::default()
        }
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Event {
    pub event_id: Uuid,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub at: DateTime<Utc>,
    pub trace_id: Option<Uuid>,
    pub client_id: Option<String>,
    pub connection: Option<String>,
    pub user_id: Option<String>,
    pub actor: Option<String>,
    pub description: String,
    pub details: serde_json::Value,
}

pub async fn record(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    event: &NewEvent,
) -> Result<Uuid, sqlx::Error> {
    let event_id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO events (tenant_id, event_id, type, trace_id, client_id, connection, user_id, actor, description, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tenant_id)
    .bind(event_id)
    .bind(event.event_type)
    .bind(event.trace_id)
    .bind(&event.client_id)
    .bind(&event.connection)
    .bind(&event.user_id)
    .bind(&event.actor)
    .bind(&event.description)
    .bind(if event.details.is_null() { serde_json::json!({}) } else { event.details.clone() })
    .execute(db)
    .await?;
    Ok(event_id)
}

/// Filters of an event listing; all optional.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub event_type: Option<String>,
    pub user_id: Option<String>,
    pub connection: Option<String>,
    pub client_id: Option<String>,
    pub trace_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "event_id, type, at, trace_id, client_id, connection, user_id, actor, description, details";

pub async fn page(
    db: &sqlx::PgPool,
    tenant_id: Uuid,
    filter: &EventFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Event>, i64), sqlx::Error> {
    const WHERE: &str =
        "tenant_id = $1 AND ($2::text IS NULL OR type = $2) AND ($3::text IS NULL OR user_id = $3)
         AND ($4::text IS NULL OR connection = $4) AND ($5::text IS NULL OR client_id = $5)
         AND ($6::uuid IS NULL OR trace_id = $6) AND ($7::timestamptz IS NULL OR at >= $7)
         AND ($8::timestamptz IS NULL OR at < $8)";
    let rows = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM events WHERE {WHERE} ORDER BY at DESC, event_id OFFSET $9 LIMIT $10"
    ))
    .bind(tenant_id)
    .bind(&filter.event_type)
    .bind(&filter.user_id)
    .bind(&filter.connection)
    .bind(&filter.client_id)
    .bind(filter.trace_id)
    .bind(filter.from)
    .bind(filter.to)
    .bind(offset)
    .bind(limit)
    .fetch_all(db)
    .await?;
    let total = sqlx::query_scalar(&format!("SELECT count(*) FROM events WHERE {WHERE}"))
        .bind(tenant_id)
        .bind(&filter.event_type)
        .bind(&filter.user_id)
        .bind(&filter.connection)
        .bind(&filter.client_id)
        .bind(filter.trace_id)
        .bind(filter.from)
        .bind(filter.to)
        .fetch_one(db)
        .await?;
    Ok((rows, total))
}

pub async fn by_id(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    event_id: Uuid,
) -> Result<Option<Event>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM events WHERE tenant_id = $1 AND event_id = $2"
    ))
    .bind(tenant_id)
    .bind(event_id)
    .fetch_optional(db)
    .await
}
