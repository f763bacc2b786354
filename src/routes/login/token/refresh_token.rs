//! `grant_type=refresh_token`: the presented refresh token, rotated by the login service.

use super::super::params::Params;
use crate::db::clients::Client;
use crate::domain::Requester;
use crate::error::OAuthError;
use crate::services::login::{refresh_token, LoginContext, TokenResponse};
use crate::tenancy::TenantHost;

pub async fn rotate(
    cx: &LoginContext<'_>,
    params: &Params,
    client: &Client,
    tenant: &TenantHost,
    requester: &Requester,
) -> Result<TokenResponse, OAuthError> {
    let presented = params
        .get("refresh_token")
        .ok_or_else(|| OAuthError::new("invalid_request", "refresh_token is required"))?;
    Ok(refresh_token::rotate(cx, tenant, client, presented, requester).await?)
}
