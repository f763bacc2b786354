//! Cross-cutting request handling: request ids and the request span, HTTP metrics,
//! read-your-writes for this node's configuration cache, and rate limits.

use std::time::{Duration, Instant};

use actix_web::body::BoxBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpMessage, HttpResponse, ResponseError};
use tracing::Instrument;

use crate::error::{ApiError, OAuthError, PageError, Surface};
use crate::rate_limit::Door;
use crate::state::AppState;
use crate::tenancy::TenantHost;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request id: a well-formed incoming `X-Request-Id` is kept, otherwise a new one is made.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

fn well_formed(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Gives every request an id and a span (with `request_id`, and `tenant`, `client`,
/// `connection` and `trace_id` recorded by handlers as they learn them), echoes the id on the
/// response, and counts the request by route pattern.
pub fn observe<S>(
    req: ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error>,
{
    let started = Instant::now();
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| well_formed(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.path(),
        tenant = tracing::field::Empty,
        client = tracing::field::Empty,
        connection = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().clone();
    let fut = srv.call(req);
    async move {
        let mut res = fut.await?;
        let status = res.status();
        if let Ok(value) = HeaderValue::from_str(&id) {
            res.headers_mut().insert(REQUEST_ID, value);
        }
        if let Some(state) = state {
            let route = res
                .request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_owned());
            state
                .metrics
                .http_request(&route, method.as_str(), status.as_u16(), started.elapsed());
            if status == actix_web::http::StatusCode::SERVICE_UNAVAILABLE {
                state.metrics.db_unavailable();
            }
        }
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), "request failed");
        } else {
            tracing::debug!(
                status = status.as_u16(),
                elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                "request done"
            );
        }
        Ok(res)
    }
    .instrument(span)
}

/// Paths on the admin host whose POSTs change no configuration (signing in and out).
const NON_CONFIG_POSTS: &[&str] = &["/signin", "/signout", "/login", "/logout", "/setup"];

/// After a successful configuration write through this node, its own cache forgets what the
/// write may have changed before the answer leaves, so the caller's next request sees the
/// change here even before the database's notification arrives (other nodes learn through
/// NOTIFY).
pub fn read_your_writes<S>(
    req: ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error>,
{
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        && !req.path().starts_with("/oauth/")
        && !NON_CONFIG_POSTS.contains(&req.path());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let fut = srv.call(req);
    async move {
        let res = fut.await?;
        if writes && (res.status().is_success() || res.status().is_redirection()) {
            if let Some(state) = state {
                match res.request().extensions().get::<TenantHost>() {
                    Some(tenant) => state.cache.invalidate_tenant(tenant.id()),
                    None => state.cache.invalidate_everything(),
                }
            }
        }
        Ok(res)
    }
}

/// The 429 answer, in the shape the path answers in.
fn too_many(path: &str, wait: Duration) -> HttpResponse {
    let seconds = wait.as_secs().max(1);
    let mut res = match Surface::of_path(path) {
        Surface::OAuth => {
            return OAuthError::slow_down(format!("too many requests; retry in {seconds} s"), wait)
                .response()
        }
        Surface::Api => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            format!("Rate limit exceeded; retry in {seconds} s"),
        )
        .error_response(),
        Surface::Page => PageError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            format!("Too many attempts from your network. Try again in {seconds} seconds."),
        )
        .render(),
    };
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    res
}

/// Rate limits: per-IP limits on every door, and per-client limits on /authorize (the client id is in the
/// query); the token endpoint and the management API add their own per-client checks.
pub fn rate_limit<S>(
    req: ServiceRequest,
    srv: &S,
) -> futures_util::future::Either<
    S::Future,
    std::future::Ready<Result<ServiceResponse<BoxBody>, actix_web::Error>>,
>
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error>,
{
    use futures_util::future::Either;
    let (Some(door), Some(state)) = (
        Door::of(req.path()),
        req.app_data::<web::Data<AppState>>().cloned(),
    ) else {
        return Either::Left(srv.call(req));
    };
    let ip = crate::client_addr::client_ip(req.request(), &state.settings.trusted_proxies);
    let mut verdict = match ip {
        Some(ip) => state.limits.check_ip(door, ip),
        None => Ok(()),
    };
    if verdict.is_ok() && door == Door::Authorize {
        let client_id = url::form_urlencoded::parse(req.query_string().as_bytes())
            .find(|(k, _)| k == "client_id")
            .map(|(_, v)| v.into_owned());
        if let Some(client_id) = client_id {
            verdict = state.limits.check_subject(door, &client_id);
        }
    }
    match verdict {
        Ok(()) => Either::Left(srv.call(req)),
        Err(wait) => {
            tracing::warn!(door = ?door, "rate limited");
            let res = too_many(req.path(), wait);
            Either::Right(std::future::ready(Ok(req.into_response(res))))
        }
    }
}
