//! The authorization code grant: a code redeemed once, in one statement that checks it against
//! the request (expiry, client, redirect URI, PKCE), a repeat of a redemption whose answer was
//! lost answered again, and a replay revoking what the first redemption issued (RFC 6749
//! §4.1.2).

use std::sync::Arc;

use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use super::issue::{user_tokens, Grant};
use super::{GrantError, LoginContext, TokenResponse, REFRESH_TOKEN_DAYS, REPEAT_GRACE};
use crate::cache::NoCurrentKey;
use crate::crypto::random::{opaque_token, s256, token_hash};
use crate::crypto::seal::{SealContext, Sealer};
use crate::crypto::signing::{SigningAlg, SigningKey};
use crate::db;
use crate::db::clients::Client;
use crate::db::events::NewEvent;
use crate::db::retry::patiently;
use crate::domain::event_kind::{CODE_REDEEMED, CODE_REDEMPTION_FAILED};
use crate::domain::Requester;
use crate::services::hosts::TenantHost;
use crate::services::keys;

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
    let key = signing_key(cx, tenant, client).await?;
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
    let family_id = Uuid::new_v4();
    let answer_sealed = Sealer::for_holder_of(presented.code).seal_str(
        refresh.as_deref().unwrap_or(""),
        &SealContext::redemption_answer(tenant.id(), family_id),
    );
    let redemption = db::login::Redemption {
        code_hash: &code_hash,
        family_id,
        refresh_token_hash: refresh_hash.as_deref(),
        refresh_expires_at: Utc::now() + chrono::Duration::days(REFRESH_TOKEN_DAYS),
        client_id: &client.client_id,
        redirect_uri: presented.redirect_uri,
        redirect_uri_optional: client.callbacks.len() == 1,
        verifier_s256: verifier_s256.as_deref(),
        redeemed_event: CODE_REDEEMED,
        refused_event: CODE_REDEMPTION_FAILED,
        requester,
        answer_sealed: &answer_sealed,
    };
    // Safe to repeat: an attempt whose answer was lost in a failover spent the code, and the
    // next one finds it spent by this very request (`used_again`).
    let redeemed = patiently(cx.patience, |_| {
        db::login::redeem(cx.pool, tenant.id(), &redemption)
    })
    .await?;
    let Some(redeemed) = redeemed else {
        return used_again(cx, tenant, client, &presented, &key, requester).await;
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

/// A code presented again: the repeat of a redemption whose answer was lost gets that
/// redemption's tokens; anything else is a replay, which revokes what the code issued.
async fn used_again(
    cx: &LoginContext<'_>,
    tenant: &TenantHost,
    client: &Client,
    presented: &CodeRedemption<'_>,
    key: &SigningKey,
    requester: &Requester,
) -> Result<TokenResponse, GrantError> {
    let code_hash = token_hash(presented.code);
    let used = patiently(cx.patience, |_| {
        db::login::code(cx.pool, tenant.id(), &code_hash)
    })
    .await?;
    if let Some(used) = used {
        if let Some(response) = repeat(cx, tenant, client, presented, &used, key).await? {
            return Ok(response);
        }
        if let Some(family) = used.family_id {
            db::tokens::revoke_family(cx.pool, tenant.id(), family).await?;
        }
        record_replay(cx, tenant, &used, requester).await;
    }
    Err(GrantError::invalid_grant(
        "the code is invalid, expired or already used",
    ))
}

/// The tokens of the redemption that spent `used`, if this request repeats it: within
/// [`REPEAT_GRACE`] of it, from the same client with the same `redirect_uri`, proving the
/// code's PKCE verifier (or, without PKCE, the client's own credentials: a public client's
/// code alone proves no more than a stolen copy does), and while the refresh token it issued
/// is unused (a used one means the first answer arrived, and this is a replay). The requester
/// could have redeemed the code itself; the refresh token comes back from the code's sealed
/// answer, which only the code opens. See SECURITY.md, "Lost answers".
async fn repeat(
    cx: &LoginContext<'_>,
    tenant: &TenantHost,
    client: &Client,
    presented: &CodeRedemption<'_>,
    used: &db::login::AuthorizationCode,
    key: &SigningKey,
) -> Result<Option<TokenResponse>, GrantError> {
    let Some(used_at) = used.used_at else {
        return Ok(None);
    };
    let recent = Utc::now() - used_at < REPEAT_GRACE && used_at <= used.expires_at;
    let same_redirect = match presented.redirect_uri {
        Some(uri) => uri == used.redirect_uri,
        None => client.callbacks.len() == 1,
    };
    let proven = match (&used.code_challenge, presented.code_verifier.map(s256)) {
        (Some(challenge), Some(verifier)) => *challenge == verifier,
        (None, None) => client.token_endpoint_auth_method != "none",
        _ => false,
    };
    if !(recent && used.client_id == client.client_id && same_redirect && proven) {
        return Ok(None);
    }
    let (Some(family), Some(sealed)) = (
        used.family_id,
        db::login::redemption_answer(cx.pool, tenant.id(), &token_hash(presented.code)).await?,
    ) else {
        return Ok(None);
    };
    let Some(refresh) = Sealer::for_holder_of(presented.code)
        .open(
            &sealed,
            &SealContext::redemption_answer(tenant.id(), family),
        )
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
    else {
        return Ok(None);
    };
    let refresh = if refresh.is_empty() {
        None
    } else {
        match db::tokens::find(cx.pool, tenant.id(), &token_hash(&refresh)).await? {
            Some(t) if t.rotated_at.is_none() && t.revoked_at.is_none() => Some(refresh),
            Some(_) => return Ok(None),
            // Not stored: the scope had no `offline_access`.
            None => None,
        }
    };
    let Some(user) = db::users::by_id(cx.pool, tenant.id(), &used.user_id)
        .await?
        .filter(|u| !u.blocked)
    else {
        return Ok(None);
    };
    let mut response = user_tokens(
        cx.sealer,
        key,
        tenant,
        client,
        &user,
        Grant {
            scope: &used.scope,
            auth_time: used.auth_time,
            nonce: used.nonce.as_deref(),
        },
    );
    response.refresh_token = refresh;
    cx.record_later(
        tenant.id(),
        NewEvent {
            event_type: CODE_REDEEMED,
            trace_id: Some(used.trace_id),
            client_id: Some(client.client_id.clone()),
            user_id: Some(user.user_id.clone()),
            description: "authorization code redemption repeated (its first answer was lost): \
                          the same grant was answered again"
                .into(),
            details: json!({ "step": "code_redeemed", "outcome": "repeated" }),
            ..Default::default()
        },
    );
    Ok(Some(response))
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

/// The key `client`'s tokens are signed with: the tenant's current key for the client's
/// algorithm (its own, or the tenant's default), parsed once per node, and made the first
/// time an algorithm is used.
pub(super) async fn signing_key(
    cx: &LoginContext<'_>,
    tenant: &TenantHost,
    client: &Client,
) -> Result<Arc<SigningKey>, GrantError> {
    let alg = client
        .signing_alg
        .as_deref()
        .and_then(SigningAlg::parse)
        .or_else(|| SigningAlg::parse(&tenant.tenant.signing_alg))
        .unwrap_or(SigningAlg::Rs256);
    let key = || cx.cache.signing_key(cx.pool, cx.sealer, tenant.id(), alg);
    match key().await {
        Err(e) if e.downcast_ref::<NoCurrentKey>().is_some() => {
            keys::ensure_current(cx.pool, cx.sealer, tenant.id(), alg).await?;
            Ok(key().await?)
        }
        other => Ok(other?),
    }
}
