//! `/api/v2/connections`: list, create, read, change and delete connections, and whether they
//! can serve logins (the applications they serve are in `connection_clients`). A connection of
//! another tenant answers exactly as a nonexistent one.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;
use sqlx::{Postgres, Transaction};

use super::auth::ManagementToken;
use super::body::{Fields, JsonBody};
use super::paging::{checkpoint_answer, offset_answer, FieldSelection, Paging, Query};
use super::reply::{json_body, Reply};
use super::{etag, idempotency};
use crate::db;
use crate::db::connections::{Connection, ConnectionFilter};
use crate::domain::FieldError;
use crate::error::ApiError;
use crate::services::connections::{self as service, ConnectionInput, ConnectionView};
use crate::services::health::{self, ConnectionHealth};
use crate::services::tenants::canonical_host;
use crate::services::ServiceError;
use crate::state::AppState;

const KIND: &str = "connection";
const MAX_NAME: usize = 128;
/// Most applications one request may enable.
const MAX_ENABLED_CLIENTS: usize = 1000;

pub fn api(e: ServiceError) -> ApiError {
    ApiError::service(KIND, e)
}

pub fn tag(connection: &Connection) -> String {
    etag::tag(KIND, &connection.connection_id, connection.version)
}

/// The Auth0 shape of a connection. The client secret lives in its own sealed column and is
/// never part of `options`; it is removed here as well in case a strategy ever stores one.
#[derive(Serialize)]
pub struct ConnectionBody<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<&'a str>,
    strategy: &'a str,
    /// The strategy's own settings, free-form.
    options: Value,
    enabled_clients: &'a [String],
    is_domain_connection: bool,
    realms: &'a [String],
    metadata: &'a Value,
    show_as_button: bool,
}

impl<'a> ConnectionBody<'a> {
    pub fn new(connection: &'a Connection, enabled_clients: &'a [String]) -> Self {
        let mut options = connection.options.clone();
        if let Some(map) = options.as_object_mut() {
            map.remove("client_secret");
        }
        ConnectionBody {
            id: &connection.connection_id,
            name: &connection.name,
            display_name: connection.display_name.as_deref(),
            strategy: &connection.strategy,
            options,
            enabled_clients,
            is_domain_connection: connection.is_domain_connection,
            realms: &connection.realms,
            metadata: &connection.metadata,
            show_as_button: connection.show_as_button,
        }
    }
}

/// A connection as JSON, for the fields selection.
pub fn connection_json(connection: &Connection, enabled_clients: &[String]) -> Value {
    json_body(&ConnectionBody::new(connection, enabled_clients))
}

/// The answer of a connection's health check: it can serve logins, and how its logins went.
#[derive(Serialize)]
struct HealthBody<'a> {
    status: &'static str,
    id: &'a str,
    strategy: &'a str,
    health: ConnectionHealth,
}

fn view_json(view: &ConnectionView) -> Value {
    connection_json(&view.connection, &view.enabled_clients)
}

const PROPERTIES: &[&str] = &[
    "name",
    "display_name",
    "strategy",
    "options",
    "enabled_clients",
    "is_domain_connection",
    "realms",
    "metadata",
    "show_as_button",
];

fn input(body: Value) -> Result<ConnectionInput, FieldError> {
    let mut f = Fields::new(body, PROPERTIES)?;
    Ok(ConnectionInput {
        name: f.string("name", MAX_NAME)?,
        display_name: f.clearable_string("display_name", MAX_NAME)?,
        strategy: f.string("strategy", 64)?,
        options: f.object("options")?,
        enabled_clients: f.strings("enabled_clients", MAX_ENABLED_CLIENTS, 64)?,
        is_domain_connection: f.boolean("is_domain_connection")?,
        show_as_button: f.boolean("show_as_button")?,
        realms: f.strings("realms", 10, MAX_NAME)?,
        metadata: f.object("metadata")?,
    })
}

/// Views of listed connections, with their enabled clients fetched in one query.
async fn views(
    state: &AppState,
    token: &ManagementToken,
    rows: &[Connection],
) -> Result<Vec<Value>, ApiError> {
    let ids: Vec<String> = rows.iter().map(|c| c.connection_id.clone()).collect();
    let mut enabled: HashMap<String, Vec<String>> = HashMap::new();
    for (connection_id, client_id) in
        db::connections::enabled_clients_of(&state.pool, token.tenant_id(), &ids).await?
    {
        enabled.entry(connection_id).or_default().push(client_id);
    }
    Ok(rows
        .iter()
        .map(|c| {
            connection_json(
                c,
                enabled.get(&c.connection_id).map_or(&[][..], Vec::as_slice),
            )
        })
        .collect())
}

pub async fn list(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    token.require("read:connections")?;
    let q = Query::parse(&req);
    let paging = Paging::parse(&q)?;
    let select = FieldSelection::parse(&q)?;
    let strategies = q.all("strategy");
    if strategies.len() > 20 || strategies.iter().any(|s| s.len() > 64) {
        return Err(ApiError::invalid_query(FieldError::new(
            "strategy",
            "may be given at most 20 times, each at most 64 characters",
        )));
    }
    let filter = ConnectionFilter {
        strategies,
        name: q.text("name", MAX_NAME)?,
    };
    let tenant_id = token.tenant_id();
    let answer = match paging {
        Paging::Offset {
            page,
            per_page,
            include_totals,
        } => {
            let rows =
                db::connections::page(&state.pool, tenant_id, &filter, page * per_page, per_page)
                    .await?;
            let total = match include_totals {
                true => Some(db::connections::count(&state.pool, tenant_id, &filter).await?),
                false => None,
            };
            let items = views(&state, &token, &rows).await?;
            let items = items.into_iter().map(|v| select.apply(v)).collect();
            offset_answer("connections", items, page, per_page, total)
        }
        Paging::Checkpoint { from, take } => {
            let rows =
                db::connections::after(&state.pool, tenant_id, &filter, from.as_deref(), take + 1)
                    .await?;
            let ids: Vec<String> = rows.iter().map(|c| c.connection_id.clone()).collect();
            let items = views(&state, &token, &rows).await?;
            let items = items.into_iter().map(|v| select.apply(v)).collect();
            checkpoint_answer("connections", items, &ids, take)
        }
    };
    Ok(Reply::ok(answer).into_response())
}

pub async fn create(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    token.require("create:connections")?;
    let JsonBody { value, canonical } = JsonBody::read(&req, payload).await?;
    let input = input(value)?;
    let work = async |tx: &mut Transaction<'static, Postgres>| {
        let view = service::create_in(tx, &state.sealer, token.tenant_id(), &input, &token.actor())
            .await
            .map_err(api)?;
        let location = token.tenant.url(&format!(
            "api/v2/connections/{}",
            view.connection.connection_id
        ));
        Ok(Reply::created(view_json(&view))
            .with_etag(tag(&view.connection))
            .with_location(location))
    };
    idempotency::once(&state, &token, &req, &canonical, work).await
}

pub async fn get(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    token.require("read:connections")?;
    let select = FieldSelection::parse(&Query::parse(&req))?;
    let view = service::cached_view(
        &state.cache,
        &state.pool,
        &state.sealer,
        token.tenant_id(),
        &id,
    )
    .await
    .map_err(api)?;
    Ok(Reply::ok(select.apply(view_json(&view)))
        .with_etag(tag(&view.connection))
        .unless_fresh(&req))
}

/// The version `If-Match` pins the change to, after checking the object exists (404 first).
pub async fn expected_version(
    state: &AppState,
    token: &ManagementToken,
    req: &HttpRequest,
    id: &str,
) -> Result<Option<i32>, ApiError> {
    let current = service::view(&state.pool, token.tenant_id(), id)
        .await
        .map_err(api)?;
    Ok(etag::if_match(req, &tag(&current.connection))?.then_some(current.connection.version))
}

pub async fn update(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    token.require("update:connections")?;
    let body = JsonBody::read(&req, payload).await?;
    let input = input(body.value)?;
    let expected = expected_version(&state, &token, &req, &id).await?;
    let view = service::update(
        &state.pool,
        &state.sealer,
        token.tenant_id(),
        &id,
        &input,
        expected,
        &token.actor(),
    )
    .await
    .map_err(api)?;
    Ok(Reply::ok(view_json(&view))
        .with_etag(tag(&view.connection))
        .into_response())
}

pub async fn delete(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    token.require("delete:connections")?;
    let expected = expected_version(&state, &token, &req, &id).await?;
    service::delete(
        &state.pool,
        token.tenant_id(),
        &id,
        expected,
        &token.actor(),
    )
    .await
    .map_err(api)?;
    Ok(Reply::no_content().into_response())
}

/// `GET /connections/{id}/status`: 200 when the connection can serve logins (its secret opens
/// and its options are complete), with its `health` (the numbers of the dashboard's Health
/// tab, `services::health`); 409 saying why not otherwise.
pub async fn status(
    token: ManagementToken,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    token.require("read:connections")?;
    let view = service::view(&state.pool, token.tenant_id(), &id)
        .await
        .map_err(api)?;
    let connection = &view.connection;
    if connection.client_secret_sealed.is_none() {
        return Err(unusable("it has no client secret"));
    }
    if let Err(e) = crate::providers::open_upstream(&state.sealer, connection) {
        tracing::warn!(connection.id = %connection.connection_id, error = format!("{e:#}"), "connection not usable");
        return Err(unusable("its options or client secret cannot be used"));
    }
    let settings = &state.settings;
    let tenant = &token.tenant.tenant;
    let callback_url = format!(
        "{}login/callback",
        settings.issuer_for_host(&canonical_host(settings, tenant))
    );
    let health = health::connection_health(&state.pool, connection, &callback_url).await?;
    Ok(Reply::ok(json_body(&HealthBody {
        status: "ok",
        id: &connection.connection_id,
        strategy: &connection.strategy,
        health,
    }))
    .into_response())
}

fn unusable(why: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "connection_not_usable",
        format!("The connection cannot serve logins: {why}"),
    )
}
