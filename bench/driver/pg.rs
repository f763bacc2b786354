//! The run's private PostgreSQL (the library's `EmbeddedPostgres`, in a temporary directory),
//! shared by every Gatehouse node through `DATABASE_URL`, and what it can tell about the load:
//! its CPU time and, with `pg_stat_statements`, the statements each operation costs.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use gatehouse::embedded_pg::EmbeddedPostgres;
use secrecy::{ExposeSecret, SecretString};
use sqlx::{Connection, PgPool};

pub const DATABASE: &str = "gatehouse";

/// A throwaway cluster: no `fsync` (the harness measures Gatehouse, not the disk), room for two
/// nodes' pools and the driver's. Commits stay synchronous, as in production: each commit
/// writes its WAL itself (to the page cache). With `synchronous_commit` off every commit
/// signalled the WAL writer instead, which cost PostgreSQL more CPU per login, not less
/// (BENCHMARKS.md).
const SETTINGS: &[(&str, &str)] = &[
    ("fsync", "off"),
    ("synchronous_commit", "on"),
    ("full_page_writes", "off"),
    ("max_connections", "300"),
];

pub struct Pg {
    pub pool: PgPool,
    pub url: String,
    pub postmaster: Option<u32>,
    /// Whether `pg_stat_statements` is available (statements per operation).
    pub statements: bool,
    pub version: String,
    // Last: the server stops after the pool is gone.
    server: EmbeddedPostgres,
}

/// One statement's counters: calls and total execution time (ms), and its text.
#[derive(Clone, Debug)]
pub struct Stmt {
    pub calls: i64,
    pub total_ms: f64,
    pub query: String,
}

pub type Statements = HashMap<i64, Stmt>;

impl Pg {
    pub async fn start(dir: &Path) -> anyhow::Result<Self> {
        // With pg_stat_statements if this installation has it; without when it does not.
        let dir_owned = dir.to_owned();
        let with_stats = tokio::task::spawn_blocking(move || {
            let mut settings = SETTINGS.to_vec();
            settings.push(("shared_preload_libraries", "pg_stat_statements"));
            settings.push(("pg_stat_statements.track_utility", "on"));
            EmbeddedPostgres::start(&dir_owned, &settings)
        })
        .await?;
        let (server, statements) = match with_stats {
            Ok(server) => (server, true),
            Err(e) => {
                eprintln!("bench: PostgreSQL without pg_stat_statements ({e}); statements per operation will be n/a");
                let dir_owned = dir.to_owned();
                let server = tokio::task::spawn_blocking(move || {
                    EmbeddedPostgres::start(&dir_owned, SETTINGS)
                })
                .await?
                .context("starting the private PostgreSQL")?;
                (server, false)
            }
        };
        let admin = gatehouse::embedded_pg::connect_with_retry(
            &server.url("postgres"),
            1,
            Duration::from_secs(30),
        )
        .await
        .context("connecting to the private PostgreSQL")?;
        let version: String = sqlx::query_scalar("SHOW server_version")
            .fetch_one(&admin)
            .await?;
        admin.close().await;
        server.ensure_database(DATABASE).await?;
        let url = server.url(DATABASE).expose_secret().to_owned();
        let pool = gatehouse::db::connect(&SecretString::from(url.clone()), 8).await?;
        let mut statements = statements;
        if statements {
            if let Err(e) = sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                .execute(&pool)
                .await
            {
                eprintln!("bench: pg_stat_statements unavailable ({e})");
                statements = false;
            }
        }
        let postmaster = std::fs::read_to_string(server.cluster_dir().join("postmaster.pid"))
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse().ok()));
        Ok(Pg {
            pool,
            url,
            postmaster,
            statements,
            version,
            server,
        })
    }

    /// Creates another database on the same server; returns its URL.
    pub async fn create_database(&self, name: &str) -> anyhow::Result<String> {
        self.server.ensure_database(name).await?;
        Ok(self.server.url(name).expose_secret().to_owned())
    }

    /// Refreshes the planner's statistics of the Gatehouse database, as autovacuum does in a
    /// running system (a scenario is too short for it to get there first, and plans made for
    /// the empty tables of a fresh database are not what production runs).
    /// Every database of the server is analyzed (the paired rounds run a second one).
    pub async fn analyze(&self) {
        let names: Vec<String> = match sqlx::query_scalar(
            "SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres'",
        )
        .fetch_all(&self.pool)
        .await
        {
            Ok(names) => names,
            Err(e) => return eprintln!("bench: listing databases: {e}"),
        };
        for name in names {
            let url = self.server.url(&name);
            let analyzed = async {
                let mut conn = sqlx::PgConnection::connect(url.expose_secret()).await?;
                sqlx::query("ANALYZE").execute(&mut conn).await?;
                conn.close().await
            };
            if let Err(e) = analyzed.await {
                eprintln!("bench: ANALYZE of {name}: {e}");
            }
        }
    }

    /// CPU seconds of the postmaster and all its processes so far.
    pub fn cpu_seconds(&self) -> Option<f64> {
        self.postmaster.and_then(crate::procs::tree_cpu_seconds)
    }

    /// The per-statement counters of the Gatehouse database (the harness's own look-ups at
    /// pg_stat_statements excluded).
    pub async fn statements(&self) -> Option<Statements> {
        if !self.statements {
            return None;
        }
        let rows: Vec<(i64, i64, f64, String)> = sqlx::query_as(
            "SELECT s.queryid, s.calls, s.total_exec_time, s.query FROM pg_stat_statements s
             JOIN pg_database d ON d.oid = s.dbid
             WHERE d.datname = $1 AND s.queryid IS NOT NULL AND s.query NOT LIKE '%pg_stat_statements%'",
        )
        .bind(DATABASE)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| eprintln!("bench: reading pg_stat_statements: {e}"))
        .ok()?;
        Some(
            rows.into_iter()
                .map(|(id, calls, total_ms, query)| {
                    (
                        id,
                        Stmt {
                            calls,
                            total_ms,
                            query,
                        },
                    )
                })
                .collect(),
        )
    }
}

/// Per-statement differences between two snapshots, most called first.
pub fn diff(before: &Statements, after: &Statements) -> Vec<Stmt> {
    let mut out: Vec<Stmt> = after
        .iter()
        .filter_map(|(id, a)| {
            let (calls0, ms0) = before.get(id).map_or((0, 0.0), |b| (b.calls, b.total_ms));
            let calls = a.calls - calls0;
            (calls > 0).then(|| Stmt {
                calls,
                total_ms: a.total_ms - ms0,
                query: a.query.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.query.cmp(&b.query)));
    out
}
