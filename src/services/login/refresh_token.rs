//! The refresh token grant: a refresh token rotates on every use, in one transaction that
//! locks it; a rotated token used again means someone holds a copy, and revokes its family,
//! unless it is the same rotation repeated after its answer was lost.

use chrono::Utc;
use serde_json::json;
use sqlx::{Postgres, Transaction};

use super::authorization_code::signing_key;
use super::issue::{user_tokens, Grant};
use super::{GrantError, LoginContext, TokenResponse, REFRESH_TOKEN_DAYS, REPEAT_GRACE};
use crate::crypto::random::{opaque_token, token_hash};
use crate::crypto::seal::{SealContext, Sealer};
use crate::crypto::signing::SigningKey;
use crate::db;
use crate::db::clients::Client;
use crate::db::events::NewEvent;
use crate::db::retry::patiently;
use crate::domain::event_kind::{REFRESH_TOKEN_EXCHANGED, REFRESH_TOKEN_REFUSED};
use crate::domain::Requester;
use crate::services::hosts::TenantHost;

fn invalid() -> GrantError {
    GrantError::invalid_grant("the refresh token is invalid, expired or revoked")
}

pub async fn rotate(
    cx: &LoginContext<'_>,
    tenant: &TenantHost,
    client: &Client,
    presented: &str,
    requester: &Requester,
) -> Result<TokenResponse, GrantError> {
    // Fetched before the rotation commits, which must never happen without the new token given.
    let key = signing_key(cx, tenant, client).await?;
    let next = opaque_token(32);
    // Safe to repeat: an attempt whose answer was lost in a failover rotated the token, and
    // the next one finds it rotated by this very request and gives the same successor.
    patiently(cx.patience, |_| {
        rotate_once(cx, tenant, client, presented, &next, &key, requester)
    })
    .await
}

async fn rotate_once(
    cx: &LoginContext<'_>,
    tenant: &TenantHost,
    client: &Client,
    presented: &str,
    next: &str,
    key: &SigningKey,
    requester: &Requester,
) -> Result<TokenResponse, GrantError> {
    let successor_sealed = Sealer::for_holder_of(presented)
        .seal_str(next, &SealContext::rotation_successor(tenant.id()));
    let mut tx = cx.pool.begin().await?;
    let Some(token) = db::tokens::rotate(
        &mut tx,
        tenant.id(),
        &token_hash(presented),
        &successor_sealed,
    )
    .await?
    else {
        return Err(invalid());
    };
    if token.rotated_at.is_some() && token.revoked_at.is_none() {
        if let Some(successor) = repeat(&mut tx, tenant, client, presented, &token).await? {
            drop(tx);
            let user = db::users::by_id(cx.pool, tenant.id(), &token.user_id)
                .await?
                .filter(|u| !u.blocked)
                .ok_or_else(invalid)?;
            return Ok(answer(cx, key, tenant, client, &user, &token, successor));
        }
        // Reuse of a rotated token: someone holds a copy. Revoke the whole family.
        let revoked = db::tokens::revoke_family(&mut *tx, tenant.id(), token.family_id).await?;
        let mut event = refused(
            &token,
            client,
            requester,
            "reuse",
            "refresh token used again after it was rotated (someone holds a copy): its family was revoked",
        );
        event.details["revoked_refresh_tokens"] = json!(revoked);
        db::events::record(&mut *tx, tenant.id(), &event).await?;
        tx.commit().await?;
        tracing::warn!(client.id = %client.client_id, "refresh token reuse detected; family revoked");
        return Err(invalid());
    }
    let refusal = if token.revoked_at.is_some() {
        Some(("revoked", "refresh token refused: it was revoked"))
    } else if token.expires_at < Utc::now() {
        Some(("expired", "refresh token refused: it has expired"))
    } else if token.client_id != client.client_id {
        Some((
            "other_client",
            "refresh token refused: it was issued to another application",
        ))
    } else {
        None
    };
    if let Some((reason, description)) = refusal {
        drop(tx);
        let event = refused(&token, client, requester, reason, description);
        db::events::record(cx.pool, tenant.id(), &event).await?;
        return Err(invalid());
    }
    let user = db::users::by_id(&mut *tx, tenant.id(), &token.user_id)
        .await?
        .ok_or_else(invalid)?;
    if user.blocked {
        // Not rotated (the transaction is dropped): the token works again once unblocked.
        drop(tx);
        let event = refused(
            &token,
            client,
            requester,
            "user_blocked",
            "refresh token refused: the user is blocked",
        );
        db::events::record(cx.pool, tenant.id(), &event).await?;
        return Err(GrantError::invalid_grant("the user is blocked"));
    }
    db::tokens::insert(
        &mut *tx,
        tenant.id(),
        &token_hash(next),
        token.family_id,
        &client.client_id,
        &user.user_id,
        &token.scope,
        token.auth_time,
        Utc::now() + chrono::Duration::days(REFRESH_TOKEN_DAYS),
    )
    .await?;
    let exchanged = NewEvent {
        event_type: REFRESH_TOKEN_EXCHANGED,
        client_id: Some(client.client_id.clone()),
        user_id: Some(user.user_id.clone()),
        description: "refresh token exchanged for new tokens".into(),
        requester: requester.clone(),
        ..Default::default()
    };
    db::events::record(&mut *tx, tenant.id(), &exchanged).await?;
    tx.commit().await?;
    Ok(answer(
        cx,
        key,
        tenant,
        client,
        &user,
        &token,
        next.to_owned(),
    ))
}

/// The tokens of a rotation: fresh ones for the grant `token` carries, and its successor.
fn answer(
    cx: &LoginContext<'_>,
    key: &SigningKey,
    tenant: &TenantHost,
    client: &Client,
    user: &db::users::User,
    token: &db::tokens::RefreshToken,
    successor: String,
) -> TokenResponse {
    let mut response = user_tokens(
        cx.sealer,
        key,
        tenant,
        client,
        user,
        Grant {
            scope: &token.scope,
            auth_time: token.auth_time,
            nonce: None,
        },
    );
    response.refresh_token = Some(successor);
    response
}

/// The token a rotated `token` was replaced with, if this request repeats that rotation:
/// within [`REPEAT_GRACE`] of it, from the same client, while the successor is unused (a used
/// one means the first answer arrived, and this is reuse). The successor comes back from its
/// sealed copy, which only the presented token opens. See SECURITY.md, "Lost answers".
async fn repeat(
    tx: &mut Transaction<'_, Postgres>,
    tenant: &TenantHost,
    client: &Client,
    presented: &str,
    token: &db::tokens::RefreshToken,
) -> Result<Option<String>, GrantError> {
    let recent = token
        .rotated_at
        .is_some_and(|at| Utc::now() - at < REPEAT_GRACE);
    if !recent || token.client_id != client.client_id || token.expires_at < Utc::now() {
        return Ok(None);
    }
    let Some(successor) = token.successor_sealed.as_deref().and_then(|sealed| {
        let opened = Sealer::for_holder_of(presented)
            .open(sealed, &SealContext::rotation_successor(tenant.id()))
            .ok()?;
        String::from_utf8(opened).ok()
    }) else {
        return Ok(None);
    };
    // Locked, so that a concurrent use of the successor either comes first (and this is
    // reuse) or waits for this answer.
    let stored = db::tokens::find_for_update(tx, tenant.id(), &token_hash(&successor)).await?;
    Ok(stored
        .filter(|s| s.rotated_at.is_none() && s.revoked_at.is_none())
        .map(|_| successor))
}

/// The event of a refresh token that was found but refused, and why (`reason`: `reuse`,
/// `revoked`, `expired`, `other_client`, `user_blocked`).
fn refused(
    token: &db::tokens::RefreshToken,
    client: &Client,
    requester: &Requester,
    reason: &str,
    description: &str,
) -> NewEvent {
    NewEvent {
        event_type: REFRESH_TOKEN_REFUSED,
        client_id: Some(client.client_id.clone()),
        user_id: Some(token.user_id.clone()),
        description: description.to_owned(),
        details: json!({ "reason": reason, "issued_to": token.client_id }),
        requester: requester.clone(),
        ..Default::default()
    }
}
