//! Cross-origin calls from browser applications (SPAs) to `/oauth/token`, `/userinfo` and
//! `/oauth/revoke`, allowed from the origins an application lists in `web_origins` (Auth0's
//! "Allowed Web Origins"). A browser application exchanges its code with `fetch`, so without
//! these headers its login ends in a CORS error however correct everything else is.
//!
//! No credentials are ever allowed (`Access-Control-Allow-Credentials` is never sent): these
//! endpoints authenticate with what the request carries, never with cookies, so a page can
//! only do across origins what it could do with the same request from a server.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::db;
use crate::db::clients::Client;
use crate::domain::WebOrigin;
use crate::error::OAuthError;
use crate::state::AppState;
use crate::tenancy::TenantHost;

/// Request headers a browser application may send: what OIDC libraries and Auth0's SDKs do
/// (`Auth0-Client` is the SDKs' telemetry header).
const ALLOWED_HEADERS: &str = "Authorization, Content-Type, Auth0-Client";
/// How long a browser may reuse a preflight's answer (browsers cap it lower: Chromium at 2 h).
const MAX_AGE_SECONDS: &str = "86400";

/// The `Origin` of a cross-origin request, if it has one worth matching.
pub fn origin(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| *o != "null")
}

/// Whether the application lists this origin. Entries are stored as origins; older entries
/// that carry a path still match by their origin.
pub fn client_allows(client: &Client, origin: &str) -> bool {
    lists(&client.web_origins, origin)
}

/// Whether `origin` is among registered web origins (compared as origins).
fn lists(registered: &[String], origin: &str) -> bool {
    registered
        .iter()
        .any(|o| o == origin || WebOrigin::of_registered(o).as_deref() == Some(origin))
}

/// Whether any application of the tenant lists this origin: for a preflight, which names no
/// application, and for answers given before the application is known.
async fn tenant_allows(
    state: &AppState,
    tenant: &TenantHost,
    origin: &str,
) -> Result<bool, sqlx::Error> {
    let registered = db::clients::web_origins(&state.pool, tenant.id()).await?;
    Ok(lists(&registered, origin))
}

/// Lets the page at `origin` read `res`, if the application it was answered for (or, when
/// that is not known, any application of the tenant) lists the origin. A request without an
/// `Origin` (a server's) gets the answer unchanged.
pub async fn answer(
    req: &HttpRequest,
    state: &AppState,
    tenant: &TenantHost,
    client: Option<&Client>,
    mut res: HttpResponse,
) -> HttpResponse {
    let Some(origin) = origin(req) else {
        return res;
    };
    let allowed = match client {
        Some(client) => client_allows(client, origin),
        None => tenant_allows(state, tenant, origin)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "could not read the tenant's web origins");
                false
            }),
    };
    let headers = res.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if allowed {
        if let Ok(value) = HeaderValue::from_str(origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        }
    }
    res
}

/// `OPTIONS` on a cross-origin endpoint: the browser's preflight, answered from the tenant's
/// web origins. `methods` are what the endpoint serves.
async fn preflight(
    req: &HttpRequest,
    state: &AppState,
    tenant: &TenantHost,
    methods: &'static str,
) -> HttpResponse {
    let allow = (header::ALLOW, format!("{methods}, OPTIONS"));
    let Some(origin) = origin(req) else {
        // Not a CORS preflight: say what the endpoint serves.
        return HttpResponse::NoContent().insert_header(allow).finish();
    };
    let allowed = match tenant_allows(state, tenant, origin).await {
        Ok(allowed) => allowed,
        Err(e) => return crate::error::ApiError::internal(e).into_response_plain(),
    };
    let method_served = req
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|v| v.to_str().ok())
        .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
        .is_none_or(|m| methods.split(", ").any(|served| served == m.as_str()));
    if !allowed || !method_served {
        let why = if allowed {
            "the method is not served here"
        } else {
            "the origin is not an allowed web origin of any application of this tenant"
        };
        let mut res =
            OAuthError::with_status(StatusCode::FORBIDDEN, "invalid_request", why).response();
        let headers = res.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&allow.1) {
            headers.insert(header::ALLOW, value);
        }
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        return res;
    }
    HttpResponse::NoContent()
        .insert_header(allow)
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, methods))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, MAX_AGE_SECONDS))
        .insert_header((header::VARY, "Origin"))
        .finish()
}

pub async fn preflight_post(
    req: HttpRequest,
    tenant: TenantHost,
    state: web::Data<AppState>,
) -> HttpResponse {
    preflight(&req, &state, &tenant, "POST").await
}

pub async fn preflight_get_post(
    req: HttpRequest,
    tenant: TenantHost,
    state: web::Data<AppState>,
) -> HttpResponse {
    preflight(&req, &state, &tenant, "GET, POST").await
}
