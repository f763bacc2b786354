//! `grant_type=authorization_code`: the code, its redirect URI and PKCE verifier, handed to
//! the login service's redemption.

use super::super::params::Params;
use crate::db::clients::Client;
use crate::domain::Requester;
use crate::error::OAuthError;
use crate::services::login::authorization_code::{self, CodeRedemption};
use crate::services::login::{LoginContext, TokenResponse};
use crate::tenancy::TenantHost;

pub async fn redeem(
    cx: &LoginContext<'_>,
    params: &Params,
    client: &Client,
    tenant: &TenantHost,
    requester: &Requester,
) -> Result<TokenResponse, OAuthError> {
    let code = params
        .get("code")
        .ok_or_else(|| OAuthError::new("invalid_request", "code is required"))?;
    let presented = CodeRedemption {
        code,
        redirect_uri: params.get("redirect_uri"),
        code_verifier: params.get("code_verifier"),
    };
    Ok(authorization_code::redeem(cx, tenant, client, presented, requester).await?)
}
