//! Which tenant a request is for, from its `Host`: `{slug}.{base domain}` or a custom domain.
//! The admin host (the base domain itself) is not a tenant; unknown hosts get a 404.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::guard::GuardContext;
use actix_web::http::header::HOST;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};

use crate::error::{ApiError, OAuthError, PageError, Surface};
pub use crate::services::hosts::{resolve, HostKind, TenantHost};
use crate::state::AppState;

/// The host a request names, lowercased, without a trailing dot.
pub fn request_host(req: &actix_web::dev::RequestHead) -> Option<String> {
    let raw = req
        .headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri.authority().map(|a| a.to_string()))?;
    let host = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty() && host.len() <= 300).then_some(host)
}

/// Guard for routes of the admin dashboard.
pub fn is_admin_host(ctx: &GuardContext<'_>) -> bool {
    let Some(state) = ctx.app_data::<web::Data<AppState>>() else {
        return false;
    };
    request_host(ctx.head()).is_some_and(|h| h == state.settings.base_domain)
}

/// Guard for routes served on tenant hosts (anything but the admin host).
pub fn is_tenant_host(ctx: &GuardContext<'_>) -> bool {
    !is_admin_host(ctx)
}

/// The answer for a host that names no tenant, in the shape its path answers in.
fn unknown_host(req: &HttpRequest) -> actix_web::Error {
    match Surface::of_path(req.path()) {
        Surface::OAuth => OAuthError::with_status(
            StatusCode::NOT_FOUND,
            "invalid_request",
            "no tenant is served at this host",
        )
        .into(),
        Surface::Api => {
            ApiError::not_found("unknown_tenant", "No tenant is served at this host").into()
        }
        Surface::Page => PageError::not_found("No Gatehouse tenant is served at this address. Check the domain in your application's settings.").into(),
    }
}

impl FromRequest for TenantHost {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            if let Some(found) = req.extensions().get::<TenantHost>() {
                return Ok(found.clone());
            }
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| actix_web::error::ErrorInternalServerError("state missing"))?
                .clone();
            let Some(host) = request_host(req.head()) else {
                return Err(unknown_host(&req));
            };
            match resolve(&state.cache, &state.pool, &state.settings, &host).await {
                Ok(HostKind::Tenant(t)) => {
                    tracing::Span::current().record("tenant", t.tenant.slug.as_str());
                    req.extensions_mut().insert(t.clone());
                    Ok(t)
                }
                Ok(_) => Err(unknown_host(&req)),
                Err(e) => Err(Surface::of_path(req.path()).internal(e)),
            }
        })
    }
}

/// The 404 for paths nobody serves.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    if Surface::of_path(req.path()) == Surface::Api {
        ApiError::not_found("not_found", "Not Found").error_response()
    } else {
        PageError::new(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is nothing at this address.",
        )
        .render()
    }
}
