//! Building the HTTP application: state, routes by host, shared headers, and the background
//! housekeeping. `Application::build` binds (port 0 in tests) and exposes the port.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::DefaultHeaders;
use actix_web::{guard, web, App, HttpServer};

use crate::deferred_events::DeferredEvents;
use crate::routes;
use crate::state::AppState;
use crate::tenancy;

pub struct Application {
    port: u16,
    server: Server,
    /// The configuration listener and housekeeping, which end with the server.
    background: Vec<tokio::task::JoinHandle<()>>,
    /// What the node still has to write to the log when it stops, and its own pool to do it.
    deferred_events: Arc<DeferredEvents>,
    pool: sqlx::PgPool,
}

/// How long a stopping node spends writing out the events still waiting.
const WRITE_OUT_FOR: Duration = Duration::from_secs(10);

/// Headers every response carries unless its handler set its own.
fn default_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("Cache-Control", "no-store"))
        .add(("X-Frame-Options", "DENY"))
        .add((
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ))
}

/// Body and form limits, and their errors in each surface's shape.
fn extractor_configs(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::FormConfig::default().limit(64 * 1024))
        .app_data(web::JsonConfig::default().limit(256 * 1024))
        .app_data(web::PayloadConfig::default().limit(256 * 1024));
}

impl Application {
    pub fn build(state: Arc<AppState>, listener: TcpListener) -> std::io::Result<Self> {
        let port = listener.local_addr()?.port();
        let https = state.settings.public_scheme == crate::config::PublicScheme::Https;
        let workers = state.settings.workers;
        let node = state.clone();
        let server = HttpServer::new(move || {
            // Runs once on each worker's thread.
            let data = web::Data::new(node.for_worker());
            let mut headers = default_headers();
            if https {
                headers = headers.add(("Strict-Transport-Security", "max-age=31536000"));
            }
            App::new()
                .app_data(data)
                .configure(extractor_configs)
                .wrap(headers)
                .wrap_fn(crate::middleware::rate_limit)
                .wrap_fn(crate::middleware::read_your_writes)
                .wrap_fn(crate::middleware::observe)
                .route("/healthz", web::get().to(routes::health::healthz))
                .route("/readyz", web::get().to(routes::health::readyz))
                .configure(routes::static_files::configure)
                .service(
                    web::resource("/metrics")
                        .guard(guard::fn_guard(tenancy::is_admin_host))
                        .route(web::get().to(crate::routes::metrics::exposition)),
                )
                .service(
                    web::scope("")
                        .guard(guard::fn_guard(tenancy::is_admin_host))
                        .configure(routes::dashboard::configure),
                )
                .service(
                    web::scope("")
                        .guard(guard::fn_guard(tenancy::is_tenant_host))
                        .configure(routes::login::configure)
                        .configure(routes::api::configure),
                )
                .default_service(web::to(tenancy::not_found))
        })
        .workers(workers)
        .listen(listener)?
        .shutdown_timeout(20)
        .run();
        let (deferred_events, pool) = (state.deferred_events.clone(), state.pool.clone());
        let background = vec![
            crate::cache::listener::spawn(state.pool.clone(), state.cache.clone()),
            spawn_housekeeping(state),
        ];
        Ok(Application {
            port,
            server,
            background,
            deferred_events,
            pool,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs until SIGINT/SIGTERM; in-flight requests get up to 20 s to finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let stopped = self.server.await;
        // Events that waited for the database (a failover) or were queued by the last
        // requests: the workers that would have written them are gone.
        if self.deferred_events.waiting() > 0 {
            let written = self
                .deferred_events
                .write_out(&self.pool, WRITE_OUT_FOR)
                .await;
            tracing::info!(written, "events written out before stopping");
        }
        // The background tasks end before the database may (a private PostgreSQL stops right
        // after): otherwise the listener would report losing it as a failure at every stop.
        for task in self.background {
            task.abort();
            let _ = task.await;
        }
        stopped
    }

    /// A handle to stop the server from elsewhere (tests).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}

/// Deletes expired login transactions and codes once a minute.
fn spawn_housekeeping(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            state.limits.forget_idle();
            if let Err(e) = crate::db::login::purge_expired(&state.pool).await {
                tracing::debug!(error = %e, "housekeeping skipped");
            }
        }
    })
}
