//! Prometheus metrics: HTTP traffic by route, logins by tenant, connection and failing step,
//! upstream calls by strategy and outcome, the database pool and the configuration cache.
//! Labels are bounded: routes are patterns, tenants and connections are configuration, steps
//! and outcomes are enums; never a user id, a code or free text.

use std::sync::atomic::Ordering;
use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::cache::CacheStats;
use crate::providers::{LoginStep, UpstreamFailure};

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub struct Metrics {
    /// Off only to measure what recording costs (`GATEHOUSE_METRICS=off`, for benchmarks).
    enabled: bool,
    registry: Registry,
    http_requests: IntCounterVec,
    http_seconds: HistogramVec,
    logins_started: IntCounterVec,
    logins_completed: IntCounterVec,
    logins_failed: IntCounterVec,
    upstream_seconds: HistogramVec,
    db_pool_connections: IntGauge,
    db_pool_idle: IntGauge,
    db_unavailable: IntCounter,
    cache_hits: IntCounter,
    cache_misses: IntCounter,
    cache_invalidations: IntCounter,
    cache_stale_hits: IntCounter,
    events_dropped: IntCounter,
}

fn register<T: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: T) -> T {
    registry
        .register(Box::new(metric.clone()))
        .expect("metric names are unique");
    metric
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(true)
    }
}

impl Metrics {
    pub fn new(enabled: bool) -> Self {
        let registry =
            Registry::new_custom(Some("gatehouse".into()), None).expect("valid registry prefix");
        let counter = |name: &str, help: &str, labels: &[&str]| {
            register(
                &registry,
                IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"),
            )
        };
        let histogram = |name: &str, help: &str, labels: &[&str]| {
            let opts = HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec());
            register(
                &registry,
                HistogramVec::new(opts, labels).expect("valid metric"),
            )
        };
        let metrics = Metrics {
            enabled,
            http_requests: counter(
                "http_requests_total",
                "HTTP requests by route pattern, method and status",
                &["route", "method", "status"],
            ),
            http_seconds: histogram(
                "http_request_duration_seconds",
                "HTTP request latency by route pattern",
                &["route", "method"],
            ),
            logins_started: counter(
                "logins_started_total",
                "Logins sent to an upstream provider",
                &["tenant", "connection"],
            ),
            logins_completed: counter(
                "logins_completed_total",
                "Logins that ended with a code for the application",
                &["tenant", "connection"],
            ),
            logins_failed: counter(
                "logins_failed_total",
                "Logins that failed, by the step that failed",
                &["tenant", "connection", "step"],
            ),
            upstream_seconds: histogram(
                "upstream_request_duration_seconds",
                "Calls to upstream providers by strategy, call and outcome",
                &["strategy", "call", "outcome"],
            ),
            db_pool_connections: register(
                &registry,
                IntGauge::new("db_pool_connections", "Open database connections")
                    .expect("valid metric"),
            ),
            db_pool_idle: register(
                &registry,
                IntGauge::new("db_pool_idle_connections", "Idle database connections")
                    .expect("valid metric"),
            ),
            db_unavailable: register(
                &registry,
                IntCounter::new(
                    "db_unavailable_total",
                    "Requests answered 503 because the database was unreachable",
                )
                .expect("valid metric"),
            ),
            cache_hits: register(
                &registry,
                IntCounter::new("cache_hits_total", "Configuration cache hits")
                    .expect("valid metric"),
            ),
            cache_misses: register(
                &registry,
                IntCounter::new("cache_misses_total", "Configuration cache misses")
                    .expect("valid metric"),
            ),
            cache_invalidations: register(
                &registry,
                IntCounter::new(
                    "cache_invalidations_total",
                    "Configuration cache invalidations",
                )
                .expect("valid metric"),
            ),
            cache_stale_hits: register(
                &registry,
                IntCounter::new(
                    "cache_stale_hits_total",
                    "Reads answered from the last known configuration while the change listener was lost",
                )
                .expect("valid metric"),
            ),
            events_dropped: register(
                &registry,
                IntCounter::new(
                    "events_dropped_total",
                    "Token events not written: the database failed or too many writes waited",
                )
                .expect("valid metric"),
            ),
            registry,
        };
        #[cfg(target_os = "linux")]
        {
            let process = prometheus::process_collector::ProcessCollector::for_self();
            let _ = metrics.registry.register(Box::new(process));
        }
        metrics
    }

    pub fn http_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        if !self.enabled {
            return;
        }
        self.http_requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.http_seconds
            .with_label_values(&[route, method])
            .observe(elapsed.as_secs_f64());
    }

    pub fn login_started(&self, tenant: &str, connection: &str) {
        if !self.enabled {
            return;
        }
        self.logins_started
            .with_label_values(&[tenant, connection])
            .inc();
    }

    pub fn login_completed(&self, tenant: &str, connection: &str) {
        if !self.enabled {
            return;
        }
        self.logins_completed
            .with_label_values(&[tenant, connection])
            .inc();
    }

    pub fn login_failed(&self, tenant: &str, connection: &str, step: LoginStep) {
        if !self.enabled {
            return;
        }
        self.logins_failed
            .with_label_values(&[tenant, connection, step.as_str()])
            .inc();
    }

    pub fn upstream_call(
        &self,
        strategy: &str,
        call: &str,
        outcome: Option<UpstreamFailure>,
        elapsed: Duration,
    ) {
        if !self.enabled {
            return;
        }
        let outcome = match outcome {
            None => "ok",
            Some(UpstreamFailure::Timeout) => "timeout",
            Some(UpstreamFailure::Unreachable) => "unreachable",
            Some(UpstreamFailure::Refused) => "refused",
            Some(UpstreamFailure::BadAnswer) => "bad_answer",
            Some(UpstreamFailure::Forbidden) => "forbidden",
        };
        self.upstream_seconds
            .with_label_values(&[strategy, call, outcome])
            .observe(elapsed.as_secs_f64());
    }

    pub fn db_unavailable(&self) {
        self.db_unavailable.inc();
    }

    /// The text exposition, with gauges and totals read now: the node's open and idle
    /// database connections, its cache's counters and its dropped token events.
    pub fn render(
        &self,
        (open, idle): (u32, usize),
        stats: &CacheStats,
        events_dropped: u64,
    ) -> String {
        self.db_pool_connections.set(i64::from(open));
        self.db_pool_idle.set(idle as i64);
        catch_up(&self.cache_hits, stats.hits.load(Ordering::Relaxed));
        catch_up(&self.cache_misses, stats.misses.load(Ordering::Relaxed));
        catch_up(
            &self.cache_invalidations,
            stats.invalidations.load(Ordering::Relaxed),
        );
        catch_up(
            &self.cache_stale_hits,
            stats.stale_hits.load(Ordering::Relaxed),
        );
        catch_up(&self.events_dropped, events_dropped);
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Moves a counter up to a total kept elsewhere.
fn catch_up(counter: &IntCounter, total: u64) {
    let current = counter.get();
    if total > current {
        counter.inc_by(total - current);
    }
}
