//! The events log of a tenant: logins (successful and failed, with their trace) and audit of
//! configuration changes.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::Requester;

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
    /// Who sent the request the event is about (logins, token exchanges, revocations).
    pub requester: Requester,
}

impl NewEvent {
    /// The event with `reason`, a short word a log rule can match, in its details.
    pub fn with_reason(mut self, reason: &str) -> Self {
        // Indexing turns the default `null` into an object.
        self.details["reason"] = reason.into();
        self
    }

    /// An audit event for a configuration change by `actor`: "client updated Web app".
    pub fn config_change(event_type: &'static str, actor: &Actor, subject: &str) -> Self {
        NewEvent {
            event_type,
            description: crate::domain::event_kind::sentence(event_type, subject),
            ..Default::default()
        }
        .by(actor)
    }

    /// The details as stored: an object, `{}` when none were given.
    pub fn stored_details(&self) -> serde_json::Value {
        if self.details.is_null() {
            serde_json::json!({})
        } else {
            self.details.clone()
        }
    }

    /// The event as made by `actor`, from where `actor` sent the request.
    pub fn by(mut self, actor: &Actor) -> Self {
        self.actor = Some(actor.name.clone());
        self.requester = actor.requester.clone();
        self
    }
}

/// Who makes a change (`api:{client}`, `admin:{email}`, `cli`) and, when through a request,
/// from where: what a change's event records as its actor, `ip` and `user_agent`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub requester: Requester,
}

impl Actor {
    /// An actor without a request: the command line, seeding, tests.
    pub fn named(name: impl Into<String>) -> Self {
        Actor {
            name: name.into(),
            requester: Requester::default(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Event {
    pub event_id: Uuid,
    pub event_type: String,
    pub at: DateTime<Utc>,
    pub trace_id: Option<Uuid>,
    pub client_id: Option<String>,
    pub connection: Option<String>,
    pub user_id: Option<String>,
    pub actor: Option<String>,
    pub description: String,
    pub details: serde_json::Value,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub async fn record(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    event: &NewEvent,
) -> Result<Uuid, sqlx::Error> {
    debug_assert!(
        crate::domain::event_kind::is_known(event.event_type),
        "{} is not in the event catalogue (domain::event_kind)",
        event.event_type
    );
    let event_id = Uuid::new_v4();
    sqlx::query!(
        "INSERT INTO events (tenant_id, event_id, type, trace_id, client_id, connection, user_id, actor, description,
            details, ip, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        tenant_id,
        event_id,
        event.event_type,
        event.trace_id,
        event.client_id.as_deref(),
        event.connection.as_deref(),
        event.user_id.as_deref(),
        event.actor.as_deref(),
        event.description,
        event.stored_details(),
        event.requester.ip.as_deref(),
        event.requester.user_agent.as_deref(),
    )
    .execute(db)
    .await?;
    Ok(event_id)
}

/// One event of a batch: its tenant, its id (chosen when it happened, so that writing the
/// batch again stores nothing twice), the event and when it happened.
pub type BatchedEvent<'a> = (Uuid, Uuid, &'a NewEvent, DateTime<Utc>);

/// Writes `events` in one statement: the deferred writer's batches, which keep each event's
/// own time however late they are written. An event already stored (a batch whose answer was
/// lost, written again) is skipped.
pub async fn record_batch(
    db: impl PgExecutor<'_>,
    events: &[BatchedEvent<'_>],
) -> Result<(), sqlx::Error> {
    let mut tenant_ids = Vec::with_capacity(events.len());
    let mut event_ids = Vec::with_capacity(events.len());
    let mut types = Vec::with_capacity(events.len());
    let mut trace_ids: Vec<Option<Uuid>> = Vec::with_capacity(events.len());
    let mut client_ids: Vec<Option<String>> = Vec::with_capacity(events.len());
    let mut connections: Vec<Option<String>> = Vec::with_capacity(events.len());
    let mut user_ids: Vec<Option<String>> = Vec::with_capacity(events.len());
    let mut actors: Vec<Option<String>> = Vec::with_capacity(events.len());
    let mut descriptions = Vec::with_capacity(events.len());
    let mut details = Vec::with_capacity(events.len());
    let mut ips: Vec<Option<String>> = Vec::with_capacity(events.len());
    let mut user_agents: Vec<Option<String>> = Vec::with_capacity(events.len());
    let mut ats = Vec::with_capacity(events.len());
    for (tenant_id, event_id, e, at) in events {
        tenant_ids.push(*tenant_id);
        event_ids.push(*event_id);
        types.push(e.event_type.to_owned());
        trace_ids.push(e.trace_id);
        client_ids.push(e.client_id.clone());
        connections.push(e.connection.clone());
        user_ids.push(e.user_id.clone());
        actors.push(e.actor.clone());
        descriptions.push(e.description.clone());
        details.push(e.stored_details());
        ips.push(e.requester.ip.clone());
        user_agents.push(e.requester.user_agent.clone());
        ats.push(*at);
    }
    sqlx::query!(
        "INSERT INTO events (tenant_id, event_id, type, trace_id, client_id, connection, user_id, actor,
            description, details, ip, user_agent, at)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::text[],
            $7::text[], $8::text[], $9::text[], $10::jsonb[], $11::text[], $12::text[], $13::timestamptz[])
         ON CONFLICT DO NOTHING",
        &tenant_ids,
        &event_ids,
        &types,
        &trace_ids as &[Option<Uuid>],
        &client_ids as &[Option<String>],
        &connections as &[Option<String>],
        &user_ids as &[Option<String>],
        &actors as &[Option<String>],
        &descriptions,
        &details,
        &ips as &[Option<String>],
        &user_agents as &[Option<String>],
        &ats,
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// Filters of an event listing; all optional.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    /// Any of these event names.
    pub event_types: Option<Vec<String>>,
    pub user_id: Option<String>,
    pub connection: Option<String>,
    pub client_id: Option<String>,
    pub trace_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// `sqlx::$query!` over the events of a tenant that `filter` matches: `$select` then the
/// filter (`$1` the tenant, `$2` to `$8` the filter's fields) then `$rest`, whose parameters,
/// from `$9`, are the `args`. The macros need literal SQL; this writes the filter once for
/// every listing.
macro_rules! filtered_events {
    ($query:ident!($($record:path)?), $select:literal, $rest:literal,
     $tenant_id:expr, $filter:expr $(, $arg:expr)* $(,)?) => {
        sqlx::$query!(
            $($record,)?
            $select
                + " FROM events
                    WHERE tenant_id = $1 AND ($2::text[] IS NULL OR type = ANY($2))
                      AND ($3::text IS NULL OR user_id = $3) AND ($4::text IS NULL OR connection = $4)
                      AND ($5::text IS NULL OR client_id = $5) AND ($6::uuid IS NULL OR trace_id = $6)
                      AND ($7::timestamptz IS NULL OR at >= $7) AND ($8::timestamptz IS NULL OR at < $8) "
                + $rest,
            $tenant_id,
            $filter.event_types.as_deref(),
            $filter.user_id.as_deref(),
            $filter.connection.as_deref(),
            $filter.client_id.as_deref(),
            $filter.trace_id,
            $filter.from,
            $filter.to,
            $($arg,)*
        )
    };
}

/// The order of a page of events, by time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    NewestFirst,
    OldestFirst,
}

/// `limit` events `filter` matches, after skipping `offset`, in `order`.
pub async fn page(
    db: &sqlx::PgPool,
    tenant_id: Uuid,
    filter: &EventFilter,
    order: Order,
    offset: i64,
    limit: i64,
) -> Result<Vec<Event>, sqlx::Error> {
    // One literal query per order rather than a CASE in ORDER BY, which would keep PostgreSQL
    // from reading the events in order from the time index.
    match order {
        Order::NewestFirst => {
            filtered_events!(
                query_as!(Event),
                "SELECT event_id, type AS event_type, at, trace_id, client_id, connection, user_id, actor,
            description, details, ip, user_agent",
                "ORDER BY at DESC, event_id OFFSET $9 LIMIT $10",
                tenant_id,
                filter,
                offset,
                limit,
            )
            .fetch_all(db)
            .await
        }
        Order::OldestFirst => {
            filtered_events!(
                query_as!(Event),
                "SELECT event_id, type AS event_type, at, trace_id, client_id, connection, user_id, actor,
            description, details, ip, user_agent",
                "ORDER BY at, event_id OFFSET $9 LIMIT $10",
                tenant_id,
                filter,
                offset,
                limit,
            )
            .fetch_all(db)
            .await
        }
    }
}

/// How many events `filter` matches.
pub async fn count(
    db: &sqlx::PgPool,
    tenant_id: Uuid,
    filter: &EventFilter,
) -> Result<i64, sqlx::Error> {
    filtered_events!(
        query_scalar!(),
        r#"SELECT count(*) AS "count!""#,
        "",
        tenant_id,
        filter,
    )
    .fetch_one(db)
    .await
}

/// Up to `take` events `filter` matches that follow the event `after` (from the first, if
/// `None`) in commit order: by the writing transaction, then the event id. Only events of
/// transactions older than every transaction still running are returned, so no event can
/// later appear before the last one returned (see the migration that added `txn`): an
/// exporter that reads from its last event id sees every event once. An `after` event that
/// does not exist yields nothing; ask [`by_id`] first to tell it apart.
pub async fn after(
    db: &sqlx::PgPool,
    tenant_id: Uuid,
    filter: &EventFilter,
    after: Option<Uuid>,
    take: i64,
) -> Result<Vec<Event>, sqlx::Error> {
    filtered_events!(
        query_as!(Event),
        "SELECT event_id, type AS event_type, at, trace_id, client_id, connection, user_id, actor,
            description, details, ip, user_agent",
        "AND ($9::uuid IS NULL OR (txn, event_id) >
                (SELECT txn, event_id FROM events WHERE tenant_id = $1 AND event_id = $9))
           AND txn < pg_snapshot_xmin(pg_current_snapshot())
         ORDER BY txn, event_id LIMIT $10",
        tenant_id,
        filter,
        after,
        take,
    )
    .fetch_all(db)
    .await
}

/// Makes the stored events' commit order this cluster's, after start-up migrations. Events
/// written by another PostgreSQL cluster (restored from a dump, or replicated logically) carry
/// transaction ids this cluster does not continue; they are moved before every event this
/// cluster writes (`txn` 0). Their order among themselves is lost, so an exporter reading
/// from a checkpoint among them may get some events again, but misses none. Several nodes
/// starting at once move them once (the row lock on `event_order`). Returns how many moved.
pub async fn adopt_cluster(db: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    let moved = sqlx::query!(
        "WITH here AS (SELECT system_identifier AS id FROM pg_control_system()),
              before AS (SELECT cluster FROM event_order),
              adopted AS (
                UPDATE event_order SET cluster = here.id FROM here
                WHERE event_order.cluster <> here.id RETURNING 1
              )
         UPDATE events SET txn = '0'
         WHERE EXISTS (SELECT 1 FROM adopted) AND (SELECT cluster FROM before) <> 0"
    )
    .execute(db)
    .await?;
    Ok(moved.rows_affected())
}

pub async fn by_id(
    db: impl PgExecutor<'_>,
    tenant_id: Uuid,
    event_id: Uuid,
) -> Result<Option<Event>, sqlx::Error> {
    sqlx::query_as!(
        Event,
        "SELECT event_id, type AS event_type, at, trace_id, client_id, connection, user_id, actor,
            description, details, ip, user_agent
         FROM events WHERE tenant_id = $1 AND event_id = $2",
        tenant_id,
        event_id,
    )
    .fetch_optional(db)
    .await
}
