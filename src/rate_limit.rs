//! Rate limiting and brute-force protection for the login endpoints and the management API:
//! per client IP and per client (or account), keyed after normalising case and whitespace so a
//! caller cannot slip past by respelling a name, and per IP so rotating names does not help
//! either. Refusals are `429` with `Retry-After`. Limits are per node and configurable.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Settings;

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
    pub fn of(path: &str) -> Option<Door> {
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
