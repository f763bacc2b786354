//! Starting a login: the strategy's authorize step (where to send the browser, and what to
//! remember, sealed), then the transaction that `/login/callback` will consume, keyed by the
//! hash of the `state` sent upstream and bound to the browser by the hash of its cookie.

use chrono::Utc;

use super::{LoginContext, TRANSACTION_SECONDS};
use crate::crypto::random::{opaque_token, token_hash};
use crate::crypto::seal::SealContext;
use crate::db;
use crate::db::login::{LoginTransaction, NewLoginTransaction};
use crate::db::retry::patiently;
use crate::providers::{Strategy, Upstream, UpstreamConfig, UpstreamError};
use crate::services::hosts::TenantHost;

/// Why a login could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The upstream could not be prepared for (its discovery document, say).
    #[error("{0}")]
    Upstream(UpstreamError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Stores `txn` for the browser holding `browser_cookie`; returns where to send it upstream.
pub async fn begin(
    cx: &LoginContext<'_>,
    tenant: &TenantHost,
    connection_name: &str,
    (strategy, config): (&dyn Strategy, &UpstreamConfig),
    mut txn: LoginTransaction,
    browser_cookie: &str,
) -> Result<String, StartError> {
    let upstream_state = opaque_token(32);
    let redirect_uri = tenant.url("login/callback");
    let upstream = Upstream {
        http: cx.upstream,
        config,
        redirect_uri: &redirect_uri,
        connection: connection_name,
    };
    let authorization = strategy
        .authorize(upstream, &upstream_state)
        .await
        .map_err(StartError::Upstream)?;
    if !authorization.memo.is_empty() {
        let memo = serde_json::to_string(&authorization.memo).expect("a login memo serialises");
        txn.upstream_sealed = Some(
            cx.sealer
                .seal_str(&memo, &SealContext::login_memo(tenant.id(), txn.trace_id)),
        );
    }
    let (state_hash, browser_hash) = (token_hash(&upstream_state), token_hash(browser_cookie));
    let expires_at = Utc::now() + chrono::Duration::seconds(TRANSACTION_SECONDS);
    // Keyed by the state chosen above, so a repeat after a lost answer stores nothing twice.
    patiently(cx.patience, |_| {
        db::login::insert_transaction(
            cx.pool,
            tenant.id(),
            NewLoginTransaction {
                state_hash: &state_hash,
                browser_hash: &browser_hash,
                txn: &txn,
                expires_at,
            },
        )
    })
    .await?;
    cx.metrics
        .login_started(&tenant.tenant.slug, connection_name);
    Ok(authorization.url)
}
