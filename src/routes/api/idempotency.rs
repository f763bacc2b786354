//! `Idempotency-Key` on POST: the first answer to a key is stored (sealed: a create answer may
//! hold a client secret) and replayed with its status for a retry with the same body; the same
//! key with another body is a 422, and a key whose first request is still running a 409.
//! Keys are per calling application and forgotten after a day.

use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::auth::ManagementToken;
use super::reply::{json_body, Reply};
use crate::crypto::seal::SealContext;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

pub const HEADER: &str = "Idempotency-Key";
const MAX_KEY: usize = 255;

/// What is kept of a first answer to replay it (its status has a column of its own).
#[derive(Serialize, Deserialize)]
struct StoredAnswer {
    body: Option<Value>,
    etag: Option<String>,
    location: Option<String>,
}

/// The key of the request, if it sent one; a malformed key is a 400.
fn key_of(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or("");
    if key.is_empty() || key.len() > MAX_KEY || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            format!("{HEADER} must be 1 to {MAX_KEY} visible ASCII characters"),
        ));
    }
    Ok(Some(key.to_owned()))
}

fn request_hash(req: &HttpRequest, body: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(req.method().as_str().as_bytes());
    h.update(b"\n");
    h.update(req.uri().to_string().as_bytes());
    h.update(b"\n");
    h.update(body);
    h.finalize().to_vec()
}

/// Runs `work` at most once per key: the first time, or not at all when replaying.
pub async fn once(
    state: &AppState,
    token: &ManagementToken,
    req: &HttpRequest,
    body: &[u8],
    work: impl Future<Output = Result<Reply, ApiError>>,
) -> Result<HttpResponse, ApiError> {
    let Some(key) = key_of(req)? else {
        return work.await.map(Reply::into_response);
    };
    let tenant_id = token.tenant_id();
    let stored_key = format!("{}:{key}", token.client_id());
    let hash = request_hash(req, body);
    if !db::idempotency::claim(&state.pool, tenant_id, &stored_key, &hash).await? {
        return replay(state, token, &stored_key, &hash).await;
    }
    let result = work.await;
    let reply = match &result {
        Ok(reply) => reply.clone(),
        Err(e) => Reply::from_error(e),
    };
    if reply.status.is_server_error() {
        // Worth retrying: let the next attempt with this key run for real.
        db::idempotency::release(&state.pool, tenant_id, &stored_key).await?;
    } else {
        let answer = StoredAnswer {
            body: reply.body,
            etag: reply.etag,
            location: reply.location,
        };
        let sealed = state.sealer.seal(
            json_body(&answer).to_string().as_bytes(),
            &SealContext::idempotent_answer(token.tenant_id(), &stored_key),
        );
        db::idempotency::answer(
            &state.pool,
            tenant_id,
            &stored_key,
            i32::from(reply.status.as_u16()),
            sealed.as_bytes(),
        )
        .await?;
    }
    result.map(Reply::into_response)
}

async fn replay(
    state: &AppState,
    token: &ManagementToken,
    stored_key: &str,
    hash: &[u8],
) -> Result<HttpResponse, ApiError> {
    let Some(stored) = db::idempotency::find(&state.pool, token.tenant_id(), stored_key).await?
    else {
        // Given up between our claim and this read; a retry will claim it.
        return Err(in_progress());
    };
    if stored.request_hash != hash {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            format!("This {HEADER} was used for a different request; use a new key"),
        ));
    }
    if stored.response_status == 0 {
        return Err(in_progress());
    }
    let opened = std::str::from_utf8(&stored.response_body)
        .map_err(ApiError::internal)
        .and_then(|sealed| {
            state
                .sealer
                .open(
                    sealed,
                    &SealContext::idempotent_answer(token.tenant_id(), stored_key),
                )
                .map_err(|e| ApiError::internal(anyhow::anyhow!("{e}")))
        })?;
    let answer: StoredAnswer = serde_json::from_slice(&opened).map_err(ApiError::internal)?;
    let reply = Reply {
        status: u16::try_from(stored.response_status)
            .ok()
            .and_then(|s| StatusCode::from_u16(s).ok())
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("stored status out of range")))?,
        body: answer.body,
        etag: answer.etag,
        location: answer.location,
    };
    let mut res = reply.into_response();
    res.headers_mut().insert(
        actix_web::http::header::HeaderName::from_static("idempotent-replayed"),
        actix_web::http::header::HeaderValue::from_static("true"),
    );
    Ok(res)
}

fn in_progress() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "idempotency_key_in_use",
        format!("A request with this {HEADER} is still being processed; retry shortly"),
    )
}
