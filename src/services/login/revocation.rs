//! Revoking a grant (RFC 7009, as Auth0 serves it): every refresh token of the user for the
//! application that presents one of them ends; other applications' tokens are left alone.

use serde_json::json;

use super::{GrantError, LoginContext};
use crate::crypto::random::token_hash;
use crate::db;
use crate::db::clients::Client;
use crate::db::events::NewEvent;
use crate::db::tokens::Revocation;
use crate::domain::event_kind::REFRESH_TOKEN_REVOKED;
use crate::domain::Requester;
use crate::services::hosts::TenantHost;

pub async fn revoke(
    cx: &LoginContext<'_>,
    tenant: &TenantHost,
    client: &Client,
    token: &str,
    requester: &Requester,
) -> Result<(), GrantError> {
    let mut tx = cx.pool.begin().await?;
    match db::tokens::revoke_presented(&mut *tx, tenant.id(), &token_hash(token), &client.client_id)
        .await?
    {
        // An unknown token is not an error (RFC 7009 §2.2): the client's aim, a token nobody
        // can use, holds. Access and ID tokens land here too: they are self-contained and end
        // within the hour by themselves.
        Revocation::Unknown => Ok(()),
        Revocation::OtherClient => Err(GrantError::refused(
            "unauthorized_client",
            "the token was issued to another application",
        )),
        Revocation::Revoked { user_id, live } => {
            if live > 0 {
                let event = NewEvent {
                    event_type: REFRESH_TOKEN_REVOKED,
                    client_id: Some(client.client_id.clone()),
                    user_id: Some(user_id),
                    description: format!("refresh token revoked by {}", client.name),
                    details: json!({ "revoked_refresh_tokens": live }),
                    requester: requester.clone(),
                    ..Default::default()
                };
                db::events::record(&mut *tx, tenant.id(), &event).await?;
            }
            tx.commit().await?;
            Ok(())
        }
    }
}
