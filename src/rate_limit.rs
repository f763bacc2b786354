//! Rate limiting and brute-force protection for the login endpoints and the management API:
//! per client IP and per client (or account), keyed after normalising case and whitespace so a
//! caller cannot slip past by respelling a name, and per IP so rotating names does not help
//! either. Refusals are `429` with `Retry-After`. Limits are per node and configurable.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::json;

use crate::config::Settings;
use crate::state::AppState;

/// Which door a request comes through; each has its own budget.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Door {
    Authorize,
    Callback,
    Token,
    ManagementApi,
    DashboardSignIn,
}

impl Door {
    fn of(path: &str) -> Option<Door> {
        match path {
            "/authorize" => Some(Door::Authorize),
            "/login/callback" => Some(Door::Callback),
            // Revocation authenticates clients as the token endpoint does: one budget for both,
            // so neither is a way around the other's limit.
            "/oauth/token" | "/oauth/revoke" => Some(Door::Token),
            p if p.starts_with("/api/v2/") => Some(Door::ManagementApi),
            _ => None,
        }
    }
}

pub struct RateLimits {
    per_ip: Option<DefaultKeyedRateLimiter<(Door, IpAddr)>>,
    per_subject: Option<DefaultKeyedRateLimiter<(Door, String)>>,
    /// Failed authentications per subject or IP, forgotten a window after the last one.
    failures: moka::sync::Cache<String, u32>,
    failure_budget: u32,
}

/// How long failures are remembered after the last one (and a lockout lasts).
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

fn subject_key(door: Door, subject: &str) -> String {
    format!("{door:?}|subject|{}", normalize_subject(subject))
}

fn ip_key(door: Door, ip: IpAddr) -> String {
    format!("{door:?}|ip|{ip}")
}

fn limiter<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    // A full minute's budget may be spent at once; it refills evenly.
    NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n).allow_burst(n)))
}

/// The key of a client id or account name: trimmed and lowercased.
pub fn normalize_subject(subject: &str) -> String {
    subject.trim().to_lowercase()
}

impl RateLimits {
    pub fn new(settings: &Settings) -> Self {
        RateLimits {
            per_ip: limiter(settings.rate_limit_ip_per_minute),
            per_subject: limiter(settings.rate_limit_client_per_minute),
            failures: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(FAILURE_WINDOW)
                .build(),
            failure_budget: settings.rate_limit_failures_per_minute,
        }
    }

    fn wait(
        outcome: Result<(), governor::NotUntil<governor::clock::QuantaInstant>>,
    ) -> Result<(), Duration> {
        outcome.map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    pub fn check_ip(&self, door: Door, ip: IpAddr) -> Result<(), Duration> {
        match &self.per_ip {
            Some(l) => Self::wait(l.check_key(&(door, ip))),
            None => Ok(()),
        }
    }

    pub fn check_subject(&self, door: Door, subject: &str) -> Result<(), Duration> {
        match &self.per_subject {
            Some(l) => Self::wait(l.check_key(&(door, normalize_subject(subject)))),
            None => Ok(()),
        }
    }

    /// Whether earlier failed authentications (wrong secrets or passwords) lock this subject
    /// or IP out; checked *before* verifying, so a locked-out guesser learns nothing more.
    pub fn locked_out(
        &self,
        door: Door,
        subject: &str,
        ip: Option<IpAddr>,
    ) -> Result<(), Duration> {
        if self.failure_budget == 0 {
            return Ok(());
        }
        let over = |key: String| {
            self.failures
                .get(&key)
                .is_some_and(|n| n >= self.failure_budget)
        };
        if over(subject_key(door, subject)) || ip.is_some_and(|ip| over(ip_key(door, ip))) {
            return Err(FAILURE_WINDOW);
        }
        Ok(())
    }

    /// Counts a failed authentication against the subject and the IP.
    pub fn record_failure(&self, door: Door, subject: &str, ip: Option<IpAddr>) {
        if self.failure_budget == 0 {
            return;
        }
        let bump = |key: String| {
            let n = self.failures.get(&key).unwrap_or(0);
            self.failures.insert(key, n.saturating_add(1));
        };
        bump(subject_key(door, subject));
        if let Some(ip) = ip {
            bump(ip_key(door, ip));
        }
    }

    /// Forgets idle keys (run periodically) so memory stays bounded.
    pub fn forget_idle(&self) {
        if let Some(l) = &self.per_ip {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.per_subject {
            l.retain_recent();
            l.shrink_to_fit();
        }
        self.failures.run_pending_tasks();
    }
}

/// The 429 answer, JSON for API-ish paths and a page otherwise.
pub fn too_many(path: &str, wait: Duration) -> HttpResponse {
    let seconds = wait.as_secs().max(1).to_string();
    let mut res = HttpResponse::TooManyRequests();
    res.insert_header((header::RETRY_AFTER, seconds.clone()));
    if path.starts_with("/api/") {
        res.json(json!({ "statusCode": 429, "error": "Too Many Requests", "message": format!("Rate limit exceeded; retry in {seconds} s"), "errorCode": "too_many_requests" }))
    } else if path.starts_with("/oauth/") {
        res.json(json!({ "error": "slow_down", "error_description": format!("too many requests; retry in {seconds} s") }))
    } else {
        let page = crate::error::PageError::new(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            format!("Too many attempts from your network. Try again in {seconds} seconds."),
        );
        let mut rendered = page.render();
        rendered.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from_str(&seconds)
                .unwrap_or(header::HeaderValue::from_static("60")),
        );
        rendered
    }
}

/// Per-IP limits on every door, and per-client limits on /authorize (the client id is in the
/// query); the token endpoint and the management API add their own per-client checks.
pub fn limit<S>(
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
