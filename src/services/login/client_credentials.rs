//! The client credentials grant: a confidential client's access token for an API it was
//! granted (the management API by default), reused while at least half its life is left.

use std::sync::Arc;

use chrono::Utc;
use serde_json::json;

use super::authorization_code::signing_key;
use super::client_auth::refusal;
use super::{GrantError, LoginContext, TokenResponse, TOKEN_SECONDS};
use crate::cache::IssuedToken;
use crate::crypto::claims::ACCESS_TOKEN_TYPE;
use crate::crypto::random::opaque_token;
use crate::db::clients::Client;
use crate::db::events::NewEvent;
use crate::domain::event_kind::{CLIENT_CREDENTIALS_EXCHANGED, CLIENT_CREDENTIALS_REFUSED};
use crate::domain::Requester;
use crate::services::hosts::TenantHost;

/// What the client asked for: an audience (the management API when absent) and scopes (all
/// its grant has when absent).
pub struct CredentialsRequest<'a> {
    pub audience: Option<&'a str>,
    pub scope: Option<&'a str>,
}

pub async fn grant(
    cx: &LoginContext<'_>,
    tenant: &TenantHost,
    client: &Client,
    request: CredentialsRequest<'_>,
    requester: &Requester,
) -> Result<TokenResponse, GrantError> {
    // Refusals are logged after the answer, as the grant itself is: a grant served from the
    // cache waits on no database, and neither does its refusal.
    let refuse = |reason: &str, error: GrantError, description: &str| {
        let event = refusal(
            CLIENT_CREDENTIALS_REFUSED,
            &client.client_id,
            requester,
            description,
            reason,
        );
        cx.record_later(tenant.id(), event);
        error
    };
    if client.secret_hash.is_none() {
        let description = "client_credentials needs a confidential client";
        return Err(refuse(
            "public_client",
            GrantError::refused("unauthorized_client", description),
            description,
        ));
    }
    let audience = request
        .audience
        .map(str::to_owned)
        .unwrap_or_else(|| tenant.management_audience());
    // Taken before the grant and the key are read, so a token issued from what a concurrent
    // change replaced is never kept for reuse.
    let version = cx.cache.version(tenant.id());
    let grant = cx
        .cache
        .grant(cx.pool, tenant.id(), &client.client_id, &audience)
        .await?
        .ok_or_else(|| {
            let description = format!(
                "the client has not been granted access to the audience {}",
                audience.chars().take(200).collect::<String>()
            );
            refuse(
                "no_grant",
                GrantError::AccessDenied(description.clone()),
                &description,
            )
        })?;
    let scopes: Vec<&str> = match request.scope {
        Some(requested) => requested
            .split(' ')
            .filter(|s| grant.scope.iter().any(|g| g == s))
            .collect(),
        None => grant.scope.iter().map(String::as_str).collect(),
    };
    let scope = scopes.join(" ");
    let now = Utc::now().timestamp();
    // A client asking again for the same audience and scopes gets the token it already has
    // while at least half its lifetime is left, as Auth0 recommends clients cache it anyway:
    // one RSA signature per client and half-hour instead of one per request.
    let reuse_key = (
        tenant.id(),
        client.client_id.clone(),
        audience.clone(),
        scope.clone(),
    );
    // Every grant is in the log (Auth0's `seccft`), a reused token as well as a new one: the
    // log answers which machine held which access when.
    let exchanged = NewEvent {
        event_type: CLIENT_CREDENTIALS_EXCHANGED,
        client_id: Some(client.client_id.clone()),
        description: format!(
            "client credentials of {} exchanged for an access token",
            client.name
        ),
        details: json!({ "audience": audience, "scope": scope }),
        requester: requester.clone(),
        ..Default::default()
    };
    if let Some(issued) = cx.cache.reusable_token(&reuse_key, now + TOKEN_SECONDS / 2) {
        cx.record_later(tenant.id(), exchanged);
        return Ok(TokenResponse::bearer(
            issued.access_token.clone(),
            issued.expires_at - now,
            issued.scope.clone(),
        ));
    }
    let claims = json!({
        "iss": tenant.issuer, "sub": format!("{}@clients", client.client_id), "aud": audience,
        "iat": now, "exp": now + TOKEN_SECONDS, "scope": scope, "azp": client.client_id,
        "gty": "client-credentials", "jti": opaque_token(16),
    });
    let key = signing_key(cx, tenant, client).await?;
    let access_token = key.sign(ACCESS_TOKEN_TYPE, &claims);
    cx.cache.remember_token(
        reuse_key,
        version,
        Arc::new(IssuedToken {
            access_token: access_token.clone(),
            scope: scope.clone(),
            expires_at: now + TOKEN_SECONDS,
        }),
    );
    cx.record_later(tenant.id(), exchanged);
    Ok(TokenResponse::bearer(access_token, TOKEN_SECONDS, scope))
}
