//! `grant_type=client_credentials`: the audience and scopes asked for, granted by the login
//! service.

use super::super::params::Params;
use crate::db::clients::Client;
use crate::domain::Requester;
use crate::error::OAuthError;
use crate::services::login::client_credentials::{self, CredentialsRequest};
use crate::services::login::{LoginContext, TokenResponse};
use crate::tenancy::TenantHost;

pub async fn grant(
    cx: &LoginContext<'_>,
    params: &Params,
    client: &Client,
    tenant: &TenantHost,
    requester: &Requester,
) -> Result<TokenResponse, OAuthError> {
    let request = CredentialsRequest {
        audience: params.get("audience"),
        scope: params.get("scope"),
    };
    Ok(client_credentials::grant(cx, tenant, client, request, requester).await?)
}
