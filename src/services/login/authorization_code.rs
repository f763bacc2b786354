//! The authorization code grant: a code redeemed once, in one statement that checks it against
//! the request (expiry, client, redirect URI, PKCE), and a replay revoking what the first
//! redemption issued (RFC 6749 §4.1.2).

use std::sync::Arc;

use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use super::issue::{user_tokens, Grant};
use super::{GrantError, LoginContext, TokenResponse, REFRESH_TOKEN_DAYS};
use crate::crypto::random::{opaque_token, s256, token_hash};
use crate::crypto::signing::SigningKey;
use crate::db;
use crate::db::clients::Client;
use crate::db::events::NewEvent;
use crate::domain::event_kind::{CODE_REDEEMED, CODE_REDEMPTION_FAILED};
use crate::domain::Requester;
use crate::services::hosts::TenantHost;

/// What the application presented with its code.
pub struct CodeRedemption<'a> {
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
}

pub async fn redeem(
    cx: &LoginContext<'_>,
    tenant: &TenantHost,
    client: &Client,
    presented: CodeRedemption<'_>,
    requester: &Requester,
) -> Result<TokenResponse, GrantError> {
    let code_hash = token_hash(presented.code);
    // Whatever else can fail is fetched before the code is spent, so that a spent code always
    // gives its tokens: after the redemption only in-memory work is left.
    let key = signing_key(cx, tenant).await?;
    // Redemption, its checks, the user lookup, the refresh token (when the code's scope and
    // the client allow one) and the event are one statement: if it fails (the database going
    // away, say), the code stays unused and nothing was issued; if it succeeds, one round trip
    // did it all.
    let refresh = client
        .grant_types
        .iter()
        .any(|g| g == "refresh_token")
        .then(|| opaque_token(32));
    let refresh_hash = refresh.as_deref().map(token_hash);
    let verifier_s256 = presented.code_verifier.map(s256);
    let redemption = db::login::Redemption {
        code_hash: &code_hash,
        family_id: Uuid::new_v4(),
        refresh_token_hash: refresh_hash.as_deref(),
        refresh_expires_at: Utc::now() + chrono::Duration::days(REFRESH_TOKEN_DAYS),
        client_id: &client.client_id,
        redirect_uri: presented.redirect_uri,
        redirect_uri_optional: client.callbacks.len() == 1,
        verifier_s256: verifier_s256.as_deref(),
        redeemed_event: CODE_REDEEMED,
        refused_event: CODE_REDEMPTION_FAILED,
        requester,
    };
    let Some(redeemed) = db::login::redeem(cx.pool, tenant.id(), &redemption).await? else {
        // A replayed code revokes what its first redemption issued.
        if let Some(used) = db::login::code(cx.pool, tenant.id(), &code_hash).await? {
            if let Some(family) = used.family_id {
                db::tokens::revoke_family(cx.pool, tenant.id(), family).await?;
            }
            record_replay(cx, tenant, &used, requester).await;
        }
        return Err(GrantError::invalid_grant(
            "the code is invalid, expired or already used",
        ));
    };
    let record = &redeemed.code;
    tracing::Span::current().record("trace_id", tracing::field::display(record.trace_id));
    let user = match (&redeemed.user, redeemed.refused) {
        (Some(user), None) => user,
        (_, refused) => {
            let why = refused.unwrap_or_else(|| "the user no longer exists".into());
            return Err(GrantError::invalid_grant(why));
        }
    };
    let mut response = user_tokens(
        cx.sealer,
        &key,
        tenant,
        client,
        user,
        Grant {
            scope: &record.scope,
            auth_time: record.auth_time,
            nonce: record.nonce.as_deref(),
        },
    );
    if redeemed.refresh_issued {
        response.refresh_token = refresh;
    }
    Ok(response)
}

/// Records a replayed code (its first redemption recorded itself, in `db::login::redeem`).
async fn record_replay(
    cx: &LoginContext<'_>,
    tenant: &TenantHost,
    code: &db::login::AuthorizationCode,
    requester: &Requester,
) {
    let event = NewEvent {
        event_type: CODE_REDEMPTION_FAILED,
        trace_id: Some(code.trace_id),
        client_id: Some(code.client_id.clone()),
        user_id: Some(code.user_id.clone()),
        description: "authorization code replayed; tokens issued from it were revoked".into(),
        requester: requester.clone(),
        details: json!({ "step": "code_redeemed", "outcome": "failed" }),
        ..Default::default()
    };
    if let Err(e) = db::events::record(cx.pool, tenant.id(), &event).await {
        tracing::warn!(error = %e, "could not record a code replay");
    }
}

/// The tenant's current signing key, parsed once per node.
pub(super) async fn signing_key(
    cx: &LoginContext<'_>,
    tenant: &TenantHost,
) -> Result<Arc<SigningKey>, GrantError> {
    Ok(cx
        .cache
        .signing_key(cx.pool, cx.sealer, tenant.id())
        .await?)
}
