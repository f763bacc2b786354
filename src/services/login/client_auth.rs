//! Client authentication at the token endpoints: the presented secret checked against the
//! stored hash (or, for public clients, none presented), behind a lockout after repeated
//! failures per client id and per address.

use std::net::IpAddr;
use std::sync::Arc;

use super::{GrantError, LoginContext};
use crate::crypto::random::{secure_eq, token_hash};
use crate::db::clients::Client;
use crate::db::events::NewEvent;
use crate::domain::Requester;
use crate::rate_limit::Door;
use crate::services::hosts::TenantHost;

/// Client ids are 32 characters; one presented longer is kept this far in a refusal event.
const MAX_LOGGED_CLIENT_ID: usize = 128;

/// The credentials a request presented, by HTTP Basic or in its body.
pub struct PresentedClient {
    pub client_id: String,
    pub secret: Option<String>,
    /// Presented by HTTP Basic (a failure is then answered with a Basic challenge).
    pub basic: bool,
}

/// Where a failed authentication is logged: as the grant's failure event, with who asked.
pub struct Audit<'a> {
    pub event_type: &'static str,
    pub requester: &'a Requester,
}

/// Authenticates the client. A failure counts towards the client id's and the address's
/// lockout and, with `audit`, is written to the tenant's log.
pub async fn authenticate(
    cx: &LoginContext<'_>,
    tenant: &TenantHost,
    presented: PresentedClient,
    ip: Option<IpAddr>,
    audit: Option<Audit<'_>>,
) -> Result<Arc<Client>, GrantError> {
    let PresentedClient {
        client_id,
        secret,
        basic,
    } = presented;
    // Brute force: after too many failures for this client id or IP, refuse before checking.
    if let Err(wait) = cx.limits.locked_out(Door::Token, &client_id, ip) {
        return Err(GrantError::LockedOut(wait));
    }
    let authenticated = cx
        .cache
        .client(cx.pool, tenant.id(), &client_id)
        .await?
        .filter(|client| match (&client.secret_hash, &secret) {
            (Some(hash), Some(secret)) => secure_eq(hash, &token_hash(secret)),
            (None, None) => client.token_endpoint_auth_method == "none",
            _ => false,
        });
    if let Some(client) = authenticated {
        return Ok(client);
    }
    cx.limits.record_failure(Door::Token, &client_id, ip);
    if let Some(audit) = audit {
        // One description whether the id or the secret was wrong, as in the answer.
        let event = refusal(
            audit.event_type,
            &client_id,
            audit.requester,
            "client authentication failed",
            "invalid_client",
        );
        cx.record_later(tenant.id(), event);
    }
    Err(GrantError::InvalidClient { basic })
}

/// The event of a token request refused before any token was looked at, and why (`reason`).
pub fn refusal(
    event_type: &'static str,
    client_id: &str,
    requester: &Requester,
    description: &str,
    reason: &str,
) -> NewEvent {
    NewEvent {
        event_type,
        // As presented when authentication failed: bounded, it is the caller's text.
        client_id: Some(client_id.chars().take(MAX_LOGGED_CLIENT_ID).collect()),
        description: description.to_owned(),
        requester: requester.clone(),
        ..Default::default()
    }
    .with_reason(reason)
}

/// Refuses a client the grant it asked for when its `grant_types` do not list it, logged as
/// the grant's failure.
pub fn check_grant_allowed(
    cx: &LoginContext<'_>,
    tenant: &TenantHost,
    client: &Client,
    grant_type: &str,
    audit: Audit<'_>,
) -> Result<(), GrantError> {
    if client.grant_types.iter().any(|g| g == grant_type) {
        return Ok(());
    }
    let description = format!("the application may not use the {grant_type} grant");
    let event = refusal(
        audit.event_type,
        &client.client_id,
        audit.requester,
        &description,
        "grant_not_allowed",
    );
    cx.record_later(tenant.id(), event);
    Err(GrantError::refused("unauthorized_client", description))
}
