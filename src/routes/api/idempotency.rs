//! `Idempotency-Key` on POST: the first answer to a key is stored (sealed: a create answer may
//! hold a client secret) in the transaction of the work it answers, and replayed with its
//! status for a retry with the same body; the same key with another body is a 422, and a
//! request with a key whose first request is still running waits for it and gets its answer.
//! Keys are per calling application and forgotten after a day. Every management POST runs its
//! work here, in a transaction that waits out a failover (`db::retry`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{Postgres, Transaction};

use super::auth::ManagementToken;
use super::reply::{json_body, Reply};
use crate::crypto::seal::SealContext;
use crate::db;
use crate::db::retry::patiently;
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

/// Runs `work` in a transaction, at most once per key: the first time, or not at all when
/// replaying. With a key, the answer is stored in the work's own transaction, so a retry after
/// a lost commit (a failover) finds it and replays it: the whole attempt is repeated while the
/// database is away (`db::retry`), exactly once in effect. Without a key, the work is
/// repeated only when it failed before its commit; a commit whose outcome is unknown is a 503
/// with `Retry-After` (the one request a failover may refuse).
pub async fn once(
    state: &AppState,
    token: &ManagementToken,
    req: &HttpRequest,
    body: &[u8],
    work: impl AsyncFn(&mut Transaction<'static, Postgres>) -> Result<Reply, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let patience = state.settings.db_retry_budget;
    let Some(key) = key_of(req)? else {
        let (tx, reply) = patiently(patience, |_| async {
            let mut tx = state.pool.begin().await?;
            let reply = work(&mut tx).await?;
            Ok::<_, ApiError>((tx, reply))
        })
        .await?;
        tx.commit().await?;
        return Ok(reply.into_response());
    };
    let stored_key = format!("{}:{key}", token.client_id());
    let hash = request_hash(req, body);
    patiently(patience, |_| {
        attempt(state, token, &stored_key, &hash, &work)
    })
    .await
}

/// One attempt of a keyed write: claim, work, answer, commit; or the stored answer.
async fn attempt(
    state: &AppState,
    token: &ManagementToken,
    stored_key: &str,
    hash: &[u8],
    work: &impl AsyncFn(&mut Transaction<'static, Postgres>) -> Result<Reply, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let tenant_id = token.tenant_id();
    let mut tx = state.pool.begin().await?;
    if !db::idempotency::claim(&mut tx, tenant_id, stored_key, hash).await? {
        // Answered already: by an earlier attempt whose commit's answer was lost, or by
        // another request with this key (whose transaction the claim waited for).
        drop(tx);
        return replay(state, token, stored_key, hash).await;
    }
    match work(&mut tx).await {
        Ok(reply) => {
            let (status, sealed) = sealed_answer(state, token, stored_key, &reply);
            db::idempotency::answer(&mut *tx, tenant_id, stored_key, status, sealed.as_bytes())
                .await?;
            tx.commit().await?;
            Ok(reply.into_response())
        }
        // Worth retrying (or a bug): nothing is stored, so the next attempt runs for real.
        Err(e) if e.status.is_server_error() => Err(e),
        Err(e) => {
            // A refusal did nothing (its transaction is rolled back); its answer is kept on its
            // own, so a retry with this key gets the same refusal.
            drop(tx);
            let reply = Reply::from_error(&e);
            let (status, sealed) = sealed_answer(state, token, stored_key, &reply);
            db::idempotency::remember(
                &state.pool,
                tenant_id,
                stored_key,
                hash,
                status,
                sealed.as_bytes(),
            )
            .await?;
            Err(e)
        }
    }
}

/// The answer as stored: its status, and the rest sealed (a create answer may hold a secret).
fn sealed_answer(
    state: &AppState,
    token: &ManagementToken,
    stored_key: &str,
    reply: &Reply,
) -> (i32, String) {
    let answer = StoredAnswer {
        body: reply.body.clone(),
        etag: reply.etag.clone(),
        location: reply.location.clone(),
    };
    let sealed = state.sealer.seal(
        json_body(&answer).to_string().as_bytes(),
        &SealContext::idempotent_answer(token.tenant_id(), stored_key),
    );
    (i32::from(reply.status.as_u16()), sealed)
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
