//! `/api/v2/client-grants`: which management API scopes a machine application may ask for.
//! The only audience is this tenant's own management API.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;
use sqlx::{Postgres, Transaction};

use super::auth::ManagementToken;
use super::body::{Fields, JsonBody};
use super::paging::{checkpoint_answer, offset_answer, Paging, Query};
use super::reply::{json_body, Reply};
use super::{etag, idempotency};
use crate::db;
use crate::db::client_grants::{ClientGrant, GrantFilter};
use crate::domain::FieldError;
use crate::error::ApiError;
use crate::services::client_grants as service;
use crate::services::ServiceError;
use crate::state::AppState;

const KIND: &str = "client grant";
const MAX_SCOPES: usize = 100;

fn api(e: ServiceError) -> ApiError {
    ApiError::service(KIND, e)
}

pub fn tag(grant: &ClientGrant) -> String {
    etag::tag("client_grant", &grant.grant_id, grant.version)
}

/// The Auth0 shape of a client grant.
#[derive(Serialize)]
pub struct GrantBody<'a> {
    id: &'a str,
    client_id: &'a str,
    audience: &'a str,
    scope: &'a [String],
}

impl<'a> GrantBody<'a> {
    pub fn new(grant: &'a ClientGrant) -> Self {
        GrantBody {
            id: &grant.grant_id,
            client_id: &grant.client_id,
            audience: &grant.audience,
            scope: &grant.scope,
        }
    }
}

/// A client grant as JSON, for paging.
pub fn grant_json(grant: &ClientGrant) -> Value {
    json_body(&GrantBody::new(grant))
}

async fn find(
    state: &AppState,
    token: &ManagementToken,
    id: &str,
) -> Result<ClientGrant, ApiError> {
    db::client_grants::grant_by_id(&state.pool, token.tenant_id(), id)
        .await?
        .ok_or_else(|| api(ServiceError::NotFound))
}

pub async fn list(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    token.require("read:client_grants")?;
    let q = Query::parse(&req);
    let paging = Paging::parse(&q)?;
    let filter = GrantFilter {
        client_id: q.text("client_id", 64)?,
        audience: q.text("audience", 600)?,
    };
    let tenant_id = token.tenant_id();
    let answer = match paging {
        Paging::Offset {
            page,
            per_page,
            include_totals,
        } => {
            let rows = db::client_grants::grants_page(
                &state.pool,
                tenant_id,
                &filter,
                page * per_page,
                per_page,
            )
            .await?;
            let total = match include_totals {
                true => {
                    Some(db::client_grants::grants_count(&state.pool, tenant_id, &filter).await?)
                }
                false => None,
            };
            let items = rows.iter().map(grant_json).collect();
            offset_answer("client_grants", items, page, per_page, total)
        }
        Paging::Checkpoint { from, take } => {
            let rows = db::client_grants::grants_after(
                &state.pool,
                tenant_id,
                &filter,
                from.as_deref(),
                take + 1,
            )
            .await?;
            let ids: Vec<String> = rows.iter().map(|g| g.grant_id.clone()).collect();
            let items = rows.iter().map(grant_json).collect();
            checkpoint_answer("client_grants", items, &ids, take)
        }
    };
    Ok(Reply::ok(answer).into_response())
}

fn scopes(f: &mut Fields) -> Result<Option<Vec<String>>, FieldError> {
    f.strings("scope", MAX_SCOPES, 64)
}

pub async fn create(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    token.require("create:client_grants")?;
    let JsonBody { value, canonical } = JsonBody::read(&req, payload).await?;
    let mut f = Fields::new(value, &["client_id", "audience", "scope"])?;
    let client_id = f
        .string("client_id", 64)?
        .ok_or_else(|| FieldError::new("client_id", "is required"))?;
    let audience = f
        .string("audience", 600)?
        .ok_or_else(|| FieldError::new("audience", "is required"))?;
    let scope = scopes(&mut f)?.ok_or_else(|| FieldError::new("scope", "is required"))?;
    let work = async |tx: &mut Transaction<'static, Postgres>| {
        let expected = token.tenant.management_audience();
        if audience != expected {
            return Err(FieldError::new(
                "audience",
                format!("must be this tenant's management API, {expected}"),
            )
            .into());
        }
        let grant = service::create_grant_in(
            tx,
            token.tenant_id(),
            &client_id,
            &audience,
            &scope,
            &token.actor(),
        )
        .await
        .map_err(api)?;
        let location = token
            .tenant
            .url(&format!("api/v2/client-grants/{}", grant.grant_id));
        Ok(Reply::created(grant_json(&grant))
            .with_etag(tag(&grant))
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
    token.require("read:client_grants")?;
    let grant = find(&state, &token, &id).await?;
    Ok(Reply::ok(grant_json(&grant))
        .with_etag(tag(&grant))
        .unless_fresh(&req))
}

pub async fn update(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    token.require("update:client_grants")?;
    let body = JsonBody::read(&req, payload).await?;
    let mut f = Fields::new(body.value, &["scope"])?;
    let scope = scopes(&mut f)?.ok_or_else(|| FieldError::new("scope", "is required"))?;
    let current = find(&state, &token, &id).await?;
    let expected = etag::if_match(&req, &tag(&current))?.then_some(current.version);
    let grant = service::update_grant(
        &state.pool,
        token.tenant_id(),
        &id,
        &scope,
        expected,
        &token.actor(),
    )
    .await
    .map_err(api)?;
    Ok(Reply::ok(grant_json(&grant))
        .with_etag(tag(&grant))
        .into_response())
}

pub async fn delete(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    token.require("delete:client_grants")?;
    let current = find(&state, &token, &id).await?;
    let expected = etag::if_match(&req, &tag(&current))?.then_some(current.version);
    service::delete_grant(
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
