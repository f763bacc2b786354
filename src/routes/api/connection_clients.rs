//! `/api/v2/connections/{id}/clients`: the applications a connection is enabled for, listed
//! by checkpoint and switched on or off per application (at most 50 at a time).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;

use super::auth::ManagementToken;
use super::body::{Fields, JsonBody};
use super::connections::{api, expected_version};
use super::paging::{checkpoint_answer, Query, DEFAULT_PER_PAGE, MAX_PER_PAGE};
use super::reply::{json_body, Reply};
use crate::db;
use crate::domain::FieldError;
use crate::error::ApiError;
use crate::services::connections as service;
use crate::state::AppState;

const MAX_CLIENT_CHANGES: usize = 50;

/// An application the connection is enabled for, as the listing names it.
#[derive(Serialize)]
struct EnabledClient<'a> {
    client_id: &'a str,
}

/// `GET /connections/{id}/clients`: `{clients: [{client_id}], next}`, by checkpoint.
pub async fn list(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    token.require("read:connections")?;
    let q = Query::parse(&req);
    let take = q
        .integer("take", 1, MAX_PER_PAGE)?
        .unwrap_or(DEFAULT_PER_PAGE);
    let from = q.text("from", 200)?;
    let view = service::view(&state.pool, token.tenant_id(), &id)
        .await
        .map_err(api)?;
    let ids: Vec<String> = view
        .enabled_clients
        .into_iter()
        .filter(|c| from.as_deref().is_none_or(|f| c.as_str() > f))
        .take(usize::try_from(take + 1).unwrap_or(usize::MAX))
        .collect();
    let items = ids
        .iter()
        .map(|client_id| json_body(&EnabledClient { client_id }))
        .collect();
    Ok(Reply::ok(checkpoint_answer("clients", items, &ids, take)).into_response())
}

/// The `[{"client_id", "status"}]` body of `PATCH /connections/{id}/clients`.
fn client_changes(body: Value) -> Result<Vec<(String, bool)>, FieldError> {
    let Value::Array(items) = body else {
        return Err(FieldError::new(
            "body",
            "must be an array of {client_id, status}",
        ));
    };
    if items.is_empty() || items.len() > MAX_CLIENT_CHANGES {
        return Err(FieldError::new(
            "body",
            format!("must have 1 to {MAX_CLIENT_CHANGES} entries"),
        ));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let mut f = Fields::new(item, &["client_id", "status"])
                .map_err(|e| FieldError::new(format!("[{i}].{}", e.field), e.message))?;
            let named = |e: FieldError| FieldError::new(format!("[{i}].{}", e.field), e.message);
            let client_id = f.string("client_id", 64).map_err(named)?;
            let status = f.boolean("status").map_err(named)?;
            match (client_id, status) {
                (Some(c), Some(s)) => Ok((c, s)),
                (None, _) => Err(FieldError::new(format!("[{i}].client_id"), "is required")),
                (_, None) => Err(FieldError::new(format!("[{i}].status"), "is required")),
            }
        })
        .collect()
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
    let changes = client_changes(body.value)?;
    let expected = expected_version(&state, &token, &req, &id).await?;
    for (i, (client_id, _)) in changes.iter().enumerate() {
        let known = db::clients::by_id(&state.pool, token.tenant_id(), client_id)
            .await?
            .is_some_and(|c| !c.is_tester);
        if !known {
            return Err(FieldError::new(
                format!("[{i}].client_id"),
                "is not a client of this tenant",
            )
            .into());
        }
    }
    service::set_clients(
        &state.pool,
        token.tenant_id(),
        &id,
        &changes,
        expected,
        &token.actor(),
    )
    .await
    .map_err(api)?;
    Ok(Reply::no_content().into_response())
}
