//! Who calls the management API: a bearer access token this tenant issued for its management
//! audience (`{issuer}api/v2/`), and the scopes it carries. Every refusal of a token is a 401
//! in Auth0's shape; a missing scope is a 403 `insufficient_scope`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpRequest};
use uuid::Uuid;

use crate::domain::Requester;
use crate::error::ApiError;
use crate::services::tokens::{self, AccessClaims, Rejection};
use crate::services::Actor;
use crate::state::AppState;
use crate::tenancy::TenantHost;

/// A verified management API token of the tenant this request is for.
pub struct ManagementToken {
    pub tenant: TenantHost,
    pub claims: AccessClaims,
    /// Who sent the request, for the audit events of its changes.
    pub requester: Requester,
}

impl ManagementToken {
    pub fn tenant_id(&self) -> Uuid {
        self.tenant.id()
    }

    /// The application the token was issued to.
    pub fn client_id(&self) -> &str {
        &self.claims.azp
    }

    /// Who the audit log says made a change, and from where.
    pub fn actor(&self) -> Actor {
        Actor {
            name: format!("api:{}", self.claims.azp),
            requester: self.requester.clone(),
        }
    }

    /// Refuses with 403 unless the token carries `scope`.
    pub fn require(&self, scope: &str) -> Result<(), ApiError> {
        if self.claims.has_scope(scope) {
            Ok(())
        } else {
            Err(ApiError::insufficient_scope(scope))
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(req: &HttpRequest) -> Result<&str, ApiError> {
    let value = req
        .headers()
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("Missing authentication"))?
        .to_str()
        .map_err(|_| ApiError::unauthorized("Bad HTTP authentication header format"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(ApiError::unauthorized(
            "Bad HTTP authentication header format: expected Bearer <token>",
        )),
    }
}

async fn verify(req: HttpRequest) -> Result<ManagementToken, actix_web::Error> {
    let tenant = TenantHost::from_request(&req, &mut Payload::None).await?;
    let token = bearer(&req)?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))?;
    let audience = tenant.management_audience();
    match tokens::verify_access_token(&state.cache, &state.pool, &tenant, token, &audience).await {
        Ok(claims) => Ok(ManagementToken {
            requester: Requester::of(&req, &state.settings.trusted_proxies),
            tenant,
            claims,
        }),
        Err(Rejection::Invalid(why)) => {
            Err(ApiError::unauthorized(format!("Invalid token: {why}")).into())
        }
        Err(Rejection::Internal(e)) => Err(ApiError::internal(e).into()),
    }
}

impl FromRequest for ManagementToken {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(verify(req.clone()))
    }
}
