//! Which tenant a request is for, from its `Host`: `{slug}.{base domain}` or a custom domain.
//! The admin host (the base domain itself) is not a tenant; unknown hosts get a 404.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::guard::GuardContext;
use actix_web::http::header::HOST;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};

use crate::config::Settings;
use crate::db::tenants::Tenant;
use crate::error::{ApiError, PageError};
use crate::state::AppState;

/// The tenant a request is for, with the host it came through and the issuer that host implies.
#[derive(Clone, Debug)]
pub struct TenantHost {
    pub tenant: Tenant,
    pub host: String,
    /// `{scheme}://{host}/`: tokens issued through a custom domain carry that domain.
    pub issuer: String,
}

impl TenantHost {
    pub fn id(&self) -> uuid::Uuid {
        self.tenant.tenant_id
    }

    /// An absolute URL on this tenant's host: `url("login/callback")`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path.trim_start_matches('/'))
    }

    /// The audience of this tenant's management API.
    pub fn management_audience(&self) -> String {
        self.url("api/v2/")
    }
}

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

/// What a host names.
pub enum HostKind {
    Admin,
    Tenant(TenantHost),
    Unknown,
}

pub async fn resolve(state: &AppState, host: &str) -> Result<HostKind, sqlx::Error> {
    let settings: &Settings = &state.settings;
    if host == settings.base_domain {
        return Ok(HostKind::Admin);
    }
    let tenant = state
        .cache
        .tenant_by_host(&state.pool, host, &settings.base_domain)
        .await?;
    Ok(match tenant {
        Some(tenant) => HostKind::Tenant(TenantHost {
            issuer: settings.issuer_for_host(host),
            host: host.to_owned(),
            tenant,
        }),
        None => HostKind::Unknown,
    })
}

/// The OAuth error body (RFC 6749 §5.2) that token clients read.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> actix_web::Error {
    let response = HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .json(serde_json::json!({ "error": error, "error_description": description }));
    actix_web::error::InternalError::from_response(description.to_owned(), response).into()
}

/// Token endpoints answer in OAuth's shape, API-ish paths in Auth0's, the rest with a page.
fn unknown_host(req: &HttpRequest) -> actix_web::Error {
    let path = req.path();
    if path.starts_with("/oauth/") {
        return oauth_error(
            StatusCode::NOT_FOUND,
            "invalid_request",
            "no tenant is served at this host",
        );
    }
    let json = ["/api/", "/userinfo", "/.well-known/"]
        .iter()
        .any(|p| path.starts_with(p));
    if json {
        ApiError::not_found("unknown_tenant", "No tenant is served at this host").into()
    } else {
        PageError::not_found("No Gatehouse tenant is served at this address. Check the domain in your application's settings.").into()
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
            match resolve(&state, &host).await {
                Ok(HostKind::Tenant(t)) => {
                    tracing::Span::current().record("tenant", t.tenant.slug.as_str());
                    req.extensions_mut().insert(t.clone());
                    Ok(t)
                }
                Ok(_) => Err(unknown_host(&req)),
                Err(e) => {
                    let path = req.path().to_owned();
                    if path.starts_with("/oauth/") {
                        let status = crate::error::log_internal(&e.into());
                        let (error, text) = if status == StatusCode::SERVICE_UNAVAILABLE {
                            (
                                "temporarily_unavailable",
                                "the service is temporarily unavailable",
                            )
                        } else {
                            ("server_error", "internal error")
                        };
                        Err(oauth_error(status, error, text))
                    } else if path.starts_with("/api/") {
                        Err(ApiError::internal(e).into())
                    } else {
                        Err(PageError::internal(e).into())
                    }
                }
            }
        })
    }
}

/// The 404 for paths nobody serves.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    if req.path().starts_with("/api/") {
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
