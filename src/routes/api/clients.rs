//! `/api/v2/clients`: applications. The client secret is stored as a hash, so it appears only
//! in the answers that create it (POST, rotate-secret). The dashboard's built-in tester client
//! is not an application of the tenant here and answers as nonexistent.

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
use crate::db::clients::Client;
use crate::domain::FieldError;
use crate::error::ApiError;
use crate::services::clients::{self as service, ClientInput};
use crate::services::ServiceError;
use crate::state::AppState;

const KIND: &str = "client";
const MAX_URLS: usize = 100;
const MAX_URL: usize = 2048;

fn api(e: ServiceError) -> ApiError {
    ApiError::service(KIND, e)
}

fn not_found() -> ApiError {
    api(ServiceError::NotFound)
}

pub fn tag(client: &Client) -> String {
    etag::tag(KIND, &client.client_id, client.version)
}

/// The Auth0 shape of an application, with its secret when it was just made.
#[derive(Serialize)]
pub struct ClientBody<'a> {
    client_id: &'a str,
    name: &'a str,
    description: &'a str,
    app_type: &'a str,
    callbacks: &'a [String],
    allowed_logout_urls: &'a [String],
    web_origins: &'a [String],
    grant_types: &'a [String],
    token_endpoint_auth_method: &'a str,
    is_first_party: bool,
    jwt_configuration: JwtConfiguration<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
}

/// Auth0's `jwt_configuration`: the algorithm the application's tokens are signed with.
#[derive(Serialize)]
struct JwtConfiguration<'a> {
    alg: &'a str,
}

impl<'a> ClientBody<'a> {
    /// `default_alg` is the tenant's, for an application that names no algorithm of its own.
    pub fn new(client: &'a Client, secret: Option<&'a str>, default_alg: &'a str) -> Self {
        ClientBody {
            client_id: &client.client_id,
            name: &client.name,
            description: &client.description,
            app_type: &client.app_type,
            callbacks: &client.callbacks,
            allowed_logout_urls: &client.allowed_logout_urls,
            web_origins: &client.web_origins,
            grant_types: &client.grant_types,
            token_endpoint_auth_method: &client.token_endpoint_auth_method,
            is_first_party: client.is_first_party,
            jwt_configuration: JwtConfiguration {
                alg: client.signing_alg.as_deref().unwrap_or(default_alg),
            },
            client_secret: secret,
        }
    }
}

/// An application as JSON, for the fields selection.
pub fn client_json(client: &Client, secret: Option<&str>, token: &ManagementToken) -> Value {
    json_body(&ClientBody::new(
        client,
        secret,
        &token.tenant.tenant.signing_alg,
    ))
}

const PROPERTIES: &[&str] = &[
    "name",
    "description",
    "app_type",
    "callbacks",
    "allowed_logout_urls",
    "web_origins",
    "grant_types",
    "token_endpoint_auth_method",
    "is_first_party",
    "jwt_configuration",
];

fn input(body: Value) -> Result<ClientInput, FieldError> {
    if body.get("client_secret").is_some() {
        return Err(FieldError::new(
            "client_secret",
            "cannot be set; POST /api/v2/clients/{id}/rotate-secret makes a new one",
        ));
    }
    let mut f = Fields::new(body, PROPERTIES)?;
    Ok(ClientInput {
        name: f.string("name", 128)?,
        description: f.string("description", 140)?,
        app_type: f.string("app_type", 32)?,
        callbacks: f.strings("callbacks", MAX_URLS, MAX_URL)?,
        allowed_logout_urls: f.strings("allowed_logout_urls", MAX_URLS, MAX_URL)?,
        web_origins: f.strings("web_origins", MAX_URLS, MAX_URL)?,
        grant_types: f.strings("grant_types", 10, 64)?,
        token_endpoint_auth_method: f.string("token_endpoint_auth_method", 32)?,
        is_first_party: f.boolean("is_first_party")?,
        signing_alg: match f.object("jwt_configuration")? {
            Some(config) => jwt_configuration(config)?,
            None => None,
        },
    })
}

/// The algorithm of `jwt_configuration` (validated by the service); `{}` changes nothing,
/// `{"alg": null}` goes back to the tenant's default. Auth0's other JWT settings are not taken.
fn jwt_configuration(config: Value) -> Result<Option<Option<String>>, FieldError> {
    let Value::Object(config) = config else {
        return Err(FieldError::new("jwt_configuration", "must be an object"));
    };
    if let Some(other) = config.keys().find(|k| *k != "alg") {
        return Err(FieldError::new(
            format!(
                "jwt_configuration.{}",
                other.chars().take(64).collect::<String>()
            ),
            "is not a known property (only alg is taken)",
        ));
    }
    match config.get("alg") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(alg)) => Ok(Some(Some(alg.chars().take(16).collect()))),
        Some(_) => Err(FieldError::new("jwt_configuration.alg", "must be a string")),
    }
}

/// An application of this tenant (never the tester client).
async fn find(state: &AppState, token: &ManagementToken, id: &str) -> Result<Client, ApiError> {
    db::clients::by_id(&state.pool, token.tenant_id(), id)
        .await?
        .filter(|c| !c.is_tester)
        .ok_or_else(not_found)
}

pub async fn list(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    token.require("read:clients")?;
    let q = Query::parse(&req);
    let paging = Paging::parse(&q)?;
    let select = FieldSelection::parse(&q)?;
    let tenant_id = token.tenant_id();
    let answer = match paging {
        Paging::Offset {
            page,
            per_page,
            include_totals,
        } => {
            let rows = db::clients::page(&state.pool, tenant_id, page * per_page, per_page).await?;
            let total = match include_totals {
                true => Some(db::clients::count(&state.pool, tenant_id).await?),
                false => None,
            };
            let items = rows
                .iter()
                .map(|c| select.apply(client_json(c, None, &token)))
                .collect();
            offset_answer("clients", items, page, per_page, total)
        }
        Paging::Checkpoint { from, take } => {
            let rows =
                db::clients::after(&state.pool, tenant_id, from.as_deref(), take + 1).await?;
            let ids: Vec<String> = rows.iter().map(|c| c.client_id.clone()).collect();
            let items = rows
                .iter()
                .map(|c| select.apply(client_json(c, None, &token)))
                .collect();
            checkpoint_answer("clients", items, &ids, take)
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
    token.require("create:clients")?;
    let JsonBody { value, canonical } = JsonBody::read(&req, payload).await?;
    let input = input(value)?;
    let work = async |tx: &mut Transaction<'static, Postgres>| {
        let (client, secret) = service::create_in(tx, token.tenant_id(), &input, &token.actor())
            .await
            .map_err(api)?;
        let location = token
            .tenant
            .url(&format!("api/v2/clients/{}", client.client_id));
        Ok(
            Reply::created(client_json(&client, secret.as_deref(), &token))
                .with_etag(tag(&client))
                .with_location(location),
        )
    };
    idempotency::once(&state, &token, &req, &canonical, work).await
}

pub async fn get(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    token.require("read:clients")?;
    let select = FieldSelection::parse(&Query::parse(&req))?;
    let client = find(&state, &token, &id).await?;
    Ok(Reply::ok(select.apply(client_json(&client, None, &token)))
        .with_etag(tag(&client))
        .unless_fresh(&req))
}

pub async fn update(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    token.require("update:clients")?;
    let body = JsonBody::read(&req, payload).await?;
    let input = input(body.value)?;
    let current = find(&state, &token, &id).await?;
    let expected = etag::if_match(&req, &tag(&current))?.then_some(current.version);
    let client = service::update(
        &state.pool,
        token.tenant_id(),
        &id,
        &input,
        expected,
        &token.actor(),
    )
    .await
    .map_err(api)?;
    Ok(Reply::ok(client_json(&client, None, &token))
        .with_etag(tag(&client))
        .into_response())
}

pub async fn delete(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    token.require("delete:clients")?;
    let current = find(&state, &token, &id).await?;
    let expected = etag::if_match(&req, &tag(&current))?.then_some(current.version);
    service::delete_checked(
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

/// `POST /clients/{id}/rotate-secret`: a new secret, shown in this answer only; the old one
/// stops working at once.
pub async fn rotate_secret(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    token.require("update:client_keys")?;
    let work = async |tx: &mut Transaction<'static, Postgres>| {
        let (client, secret) =
            service::rotate_secret_in(tx, token.tenant_id(), &id, &token.actor())
                .await
                .map_err(api)?;
        Ok(Reply::ok(client_json(&client, Some(&secret), &token)).with_etag(tag(&client)))
    };
    idempotency::once(&state, &token, &req, b"", work).await
}
