//! Starting a login: the transaction that `/login/callback` will consume, keyed by the hash of
//! the `state` sent upstream and bound to the browser by the hash of its cookie, and the
//! provider's authorization URL the browser goes to.

use chrono::Utc;

use super::{LoginContext, TRANSACTION_SECONDS};
use crate::crypto::random::{opaque_token, token_hash};
use crate::db;
use crate::db::login::{LoginTransaction, NewLoginTransaction};
use crate::providers::{Provider, UpstreamConfig};
use crate::services::hosts::TenantHost;

/// Stores `txn` for the browser holding `browser_cookie`; returns where to send it upstream.
pub async fn begin(
    cx: &LoginContext<'_>,
    tenant: &TenantHost,
    connection_name: &str,
    (provider, upstream): (&dyn Provider, &UpstreamConfig),
    txn: &LoginTransaction,
    browser_cookie: &str,
) -> Result<String, sqlx::Error> {
    let upstream_state = opaque_token(32);
    db::login::insert_transaction(
        cx.pool,
        tenant.id(),
        NewLoginTransaction {
            state_hash: &token_hash(&upstream_state),
            browser_hash: &token_hash(browser_cookie),
            txn,
            expires_at: Utc::now() + chrono::Duration::seconds(TRANSACTION_SECONDS),
        },
    )
    .await?;
    cx.metrics
        .login_started(&tenant.tenant.slug, connection_name);
    Ok(provider.authorize_url(upstream, &tenant.url("login/callback"), &upstream_state))
}
