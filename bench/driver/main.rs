//! `bench`: the Gatehouse benchmark harness (issue #6, "Fast at any size").
//!
//! Run it through `bench/run`, which builds everything in release mode first. The driver starts
//! a private PostgreSQL, the fake Exact and `gatehouse serve` nodes (release binaries, as
//! separate processes), seeds tenants, runs each scenario for a fixed time and reports
//! throughput, latency, the Gatehouse process's own CPU time per operation and its memory.
//! Every process it starts is stopped at the end, on failure and on Ctrl-C too.

mod http;
mod load;
mod pg;
mod procs;
mod report;
mod scenarios;
mod seed;

use std::collections::HashMap;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use gatehouse::config::Settings;
use gatehouse::crypto::seal::{MasterKey, Sealer};
use secrecy::SecretString;

use crate::report::Report;

/// Benchmarks Gatehouse end to end on this machine. See BENCHMARKS.md.
#[derive(Parser, Debug, Clone)]
#[command(name = "bench")]
pub struct Args {
    /// Where the release binaries (`gatehouse`, `fake-exact`) are.
    #[arg(long, default_value = "target/release")]
    pub bin_dir: PathBuf,
    /// Also write the Markdown report here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Tenants seeded for the "many tenants" login benchmark.
    #[arg(long, default_value_t = 100_000)]
    pub tenants: usize,
    /// Of those, how many receive the logins (picked at random, each primed with one login).
    #[arg(long, default_value_t = 1_000)]
    pub hot_tenants: usize,
    /// Measured seconds per scenario.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Warm-up seconds before each measurement.
    #[arg(long, default_value_t = 3)]
    pub warmup: u64,
    /// Concurrent virtual users of the login benchmarks.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    pub login_users: Vec<usize>,
    /// Concurrent virtual users of the client_credentials benchmark.
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    pub cc_users: Vec<usize>,
    /// Concurrent virtual users of the management API benchmarks.
    #[arg(long, default_value_t = 8)]
    pub mgmt_users: usize,
    /// Connections in the management benchmarks' tenant.
    #[arg(long, default_value_t = 10_000)]
    pub connections: usize,
    /// Configuration changes timed from one node to the other.
    #[arg(long, default_value_t = 100)]
    pub changes: usize,
    /// Restarts timed for start-up to ready.
    #[arg(long, default_value_t = 5)]
    pub restarts: usize,
    /// A smoke run in about two minutes: fewer tenants, shorter scenarios.
    #[arg(long)]
    pub quick: bool,
    /// Keep the temporary directory (database, logs) after the run.
    #[arg(long)]
    pub keep: bool,
    /// Only one part, for comparing two builds or profiling a node: `login` (the one-tenant
    /// login and the floor) or `authorize` (the unloaded `/authorize`).
    #[arg(long, value_enum)]
    pub only: Option<Only>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Only {
    Login,
    Authorize,
}

impl Args {
    fn effective(mut self) -> Self {
        if self.quick {
            self.tenants = self.tenants.min(2_000);
            self.hot_tenants = self.hot_tenants.min(200);
            self.duration = self.duration.min(3);
            self.warmup = self.warmup.min(1);
            self.connections = self.connections.min(1_000);
            self.changes = self.changes.min(20);
            self.restarts = self.restarts.min(2);
            self.login_users = vec![1, 8];
        }
        self.hot_tenants = self.hot_tenants.clamp(1, self.tenants.max(1));
        self.login_users.retain(|u| *u > 0);
        self.cc_users.retain(|u| *u > 0);
        self
    }

    /// The concurrency the per-operation targets are read at: 8 when measured, else the
    /// highest.
    pub fn reference_users(list: &[usize]) -> usize {
        if list.contains(&8) {
            8
        } else {
            list.iter().copied().max().unwrap_or(1)
        }
    }

    pub fn shape(&self, users: usize) -> load::Shape {
        load::Shape {
            concurrency: users,
            warmup: Duration::from_secs(self.warmup),
            duration: Duration::from_secs(self.duration),
        }
    }
}

/// A `gatehouse serve` process.
pub struct Node {
    pub child: procs::Child,
    pub port: u16,
    pub label: &'static str,
}

impl Node {
    pub fn base_domain(&self) -> String {
        format!("localhost:{}", self.port)
    }

    pub fn host(&self, slug: &str) -> String {
        format!("{slug}.localhost:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }
}

/// Everything the run started, stopped in this order when dropped: nodes, the fake, the
/// database, then the temporary directory is removed.
pub struct Env {
    pub node_one: Option<Node>,
    pub node_b: Option<Node>,
    pub node_a: Option<Node>,
    pub fake: Option<procs::Child>,
    fake_stdout: Option<std::process::ChildStdout>,
    pub pg: Option<pg::Pg>,
    pub dir: tempfile::TempDir,
    pub bin_dir: PathBuf,
    pub master_key: String,
    pub sealer: Sealer,
    pub fake_url: String,
}

impl Env {
    pub fn pg(&self) -> &pg::Pg {
        self.pg.as_ref().expect("database running")
    }

    pub fn node_a(&self) -> &Node {
        self.node_a.as_ref().expect("node A running")
    }

    pub fn fake_pid(&self) -> Vec<u32> {
        self.fake.iter().map(|f| f.pid()).collect()
    }

    /// The settings node A runs with, for the services used in seeding.
    pub fn settings(&self, port: u16, database_url: &str) -> anyhow::Result<Settings> {
        let vars: HashMap<&str, String> = HashMap::from([
            ("GATEHOUSE_LISTEN", format!("127.0.0.1:{port}")),
            ("GATEHOUSE_BASE_DOMAIN", format!("localhost:{port}")),
            ("DATABASE_URL", database_url.to_owned()),
            ("GATEHOUSE_MASTER_KEY", self.master_key.clone()),
        ]);
        Settings::from_lookup(|k| vars.get(k).cloned()).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Spawns `gatehouse serve` on `port` (on the main database) and waits for `/readyz`;
    /// returns the node and the time from spawning to the first 200.
    pub async fn start_node(
        &self,
        label: &'static str,
        port: u16,
    ) -> anyhow::Result<(Node, Duration)> {
        let url = self.pg().url.clone();
        self.start_node_on(label, port, &url).await
    }

    pub async fn start_node_on(
        &self,
        label: &'static str,
        port: u16,
        database_url: &str,
    ) -> anyhow::Result<(Node, Duration)> {
        let data_dir = self.dir.path().join(format!("node-{label}"));
        std::fs::create_dir_all(&data_dir)?;
        let mut envs: Vec<(&str, String)> = vec![
            ("GATEHOUSE_LISTEN", format!("127.0.0.1:{port}")),
            ("GATEHOUSE_BASE_DOMAIN", format!("localhost:{port}")),
            ("DATABASE_URL", database_url.to_owned()),
            ("GATEHOUSE_MASTER_KEY", self.master_key.clone()),
            ("GATEHOUSE_DATA_DIR", data_dir.display().to_string()),
            // All load comes from one address: rate limits stay on (their cost is measured)
            // but at their ceiling, so they never refuse.
            ("GATEHOUSE_RATE_LIMIT_IP_PER_MINUTE", "10000000".into()),
            ("GATEHOUSE_RATE_LIMIT_CLIENT_PER_MINUTE", "10000000".into()),
        ];
        for pass in [
            "RUST_LOG",
            "GATEHOUSE_DB_MAX_CONNECTIONS",
            "GATEHOUSE_WORKERS",
            "GATEHOUSE_LOG_FORMAT",
            "GATEHOUSE_RATE_LIMIT_IP_PER_MINUTE",
            "GATEHOUSE_RATE_LIMIT_CLIENT_PER_MINUTE",
            "GATEHOUSE_METRICS",
        ] {
            if let Ok(v) = std::env::var(pass) {
                envs.push((pass, v));
            }
        }
        let log = self.dir.path().join(format!("gatehouse-{label}.log"));
        let probe = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()?;
        let started = Instant::now();
        let mut child = procs::Child::spawn(
            &format!("gatehouse {label}"),
            &self.bin_dir.join("gatehouse"),
            &["serve"],
            &envs,
            &log,
            false,
        )?;
        loop {
            if let Some(status) = child.exited() {
                bail!(
                    "gatehouse node {label} exited ({status}) while starting; the end of its log:\n{}",
                    child.log_tail()
                );
            }
            if http::ready(&probe, port).await {
                break;
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!(
                    "gatehouse node {label} was not ready within 60 s; the end of its log:\n{}",
                    child.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let took = started.elapsed();
        Ok((Node { child, port, label }, took))
    }

    /// Starts the floor server (`bench/floor`, built beside this driver) on `port`, signing
    /// one RS256 token per login when `sign`, and making its four statements when `database`.
    pub async fn start_floor(
        &self,
        port: u16,
        sign: bool,
        database: bool,
    ) -> anyhow::Result<procs::Child> {
        let program = std::env::current_exe()?.with_file_name("floor");
        let listen = format!("127.0.0.1:{port}");
        let url = self.pg().url.clone();
        let mut args = vec![
            "--listen",
            &listen,
            "--database-url",
            &url,
            "--upstream",
            &self.fake_url,
        ];
        if sign {
            args.push("--sign");
        }
        if !database {
            args.push("--no-database");
        }
        // The same number of HTTP workers as the Gatehouse nodes.
        let workers = std::env::var("GATEHOUSE_WORKERS").ok();
        if let Some(workers) = &workers {
            args.extend(["--workers", workers]);
        }
        let log = self.dir.path().join(format!("floor-{port}.log"));
        let mut child = procs::Child::spawn("floor", &program, &args, &[], &log, false)?;
        let probe = reqwest::Client::new();
        let started = Instant::now();
        while !http::ready(&probe, port).await {
            if let Some(status) = child.exited() {
                bail!(
                    "the floor server exited ({status}); the end of its log:\n{}",
                    child.log_tail()
                );
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("the floor server was not ready within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(child)
    }
}

/// Migrates with the binary under test, so the schema is the one it expects.
pub async fn migrate(bin_dir: &Path, database_url: &str) -> anyhow::Result<()> {
    let out = tokio::process::Command::new(bin_dir.join("gatehouse"))
        .arg("migrate")
        .env("DATABASE_URL", database_url)
        .env("GATEHOUSE_MASTER_KEY", MasterKey::generate_text())
        .env("RUST_LOG", "warn")
        .output()
        .await
        .context("running gatehouse migrate")?;
    if !out.status.success() {
        bail!(
            "gatehouse migrate failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

pub fn free_port() -> anyhow::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

fn machine(report: &mut Report, args: &Args) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or("unknown".into(), |kib| {
            format!("{:.1} GiB", kib / 1024.0 / 1024.0)
        });
    let commit = std::process::Command::new("git")
        .args(["describe", "--always", "--dirty", "--abbrev=12"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    report.header.push(("date".into(), date));
    report.header.push(("commit".into(), commit));
    report.header.push((
        "machine".into(),
        format!("{cores} CPUs ({cpu}), {memory} RAM; Gatehouse, PostgreSQL, the fake Exact and the driver share it"),
    ));
    report.header.push((
        "run".into(),
        format!(
            "{} s warm-up + {} s measured per scenario; {} tenants ({} receiving logins); {} connections in the management tenant{}",
            args.warmup,
            args.duration,
            args.tenants,
            args.hot_tenants,
            args.connections,
            if args.quick { "; **--quick** (smoke run, not comparable)" } else { "" }
        ),
    ));
}

async fn setup(args: &Args, report: &mut Report) -> anyhow::Result<Env> {
    for bin in ["gatehouse", "fake-exact", "fake-oidc"] {
        let path = args.bin_dir.join(bin);
        if !path.is_file() {
            bail!(
                "{} is missing: build first (`cargo build --release --bins --example bench`), or run bench/run",
                path.display()
            );
        }
    }
    let dir = tempfile::Builder::new()
        .prefix("gatehouse-bench-")
        .disable_cleanup(args.keep)
        .tempdir()
        .context("creating the temporary directory")?;
    // PostgreSQL may run as another user (when the driver is root): let it in.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
    if args.keep {
        eprintln!("bench: keeping {}", dir.path().display());
    }
    eprintln!("bench: starting PostgreSQL");
    let pg = pg::Pg::start(&dir.path().join("pg")).await?;
    migrate(&args.bin_dir, &pg.url).await?;
    report.header.push((
        "PostgreSQL".into(),
        format!(
            "{} (private; fsync off, synchronous_commit on){}",
            pg.version,
            if pg.statements {
                ", pg_stat_statements on"
            } else {
                ""
            }
        ),
    ));
    let master_key = MasterKey::generate_text();
    let sealer = Sealer::new(
        MasterKey::parse(&SecretString::from(master_key.clone()))
            .map_err(|e| anyhow::anyhow!(e))?,
        vec![],
    );

    eprintln!("bench: starting the fake Exact");
    let (fake, fake_url, stdout) = procs::start_fake(
        "fake-exact",
        &args.bin_dir.join("fake-exact"),
        &["--listen", "127.0.0.1:0", "--consent", "auto"],
        &dir.path().join("fake-exact.log"),
    )
    .await?;
    Ok(Env {
        node_one: None,
        node_b: None,
        node_a: None,
        fake: Some(fake),
        fake_stdout: Some(stdout),
        pg: Some(pg),
        dir,
        bin_dir: args.bin_dir.clone(),
        master_key,
        sealer,
        fake_url,
    })
}

async fn run(args: Args, report: &mut Report) -> anyhow::Result<()> {
    let mut env = setup(&args, report).await?;
    let result = scenarios::all(&args, &mut env, report).await;
    if let Some(out) = env.fake_stdout.take() {
        drop(out);
    }
    drop(env);
    result
}

fn write_report(report: &Report, out: Option<&Path>) {
    let text = report.render();
    println!("{text}");
    if let Some(path) = out {
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        match std::fs::write(path, &text) {
            Ok(()) => eprintln!("bench: report written to {}", path.display()),
            Err(e) => eprintln!("bench: cannot write {}: {e}", path.display()),
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse().effective();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut report = Report::default();
    machine(&mut report, &args);
    let started = Instant::now();
    let out = args.out.clone();
    let result = runtime.block_on(async {
        tokio::select! {
            r = run(args, &mut report) => r,
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted (Ctrl-C)")),
        }
    });
    // Whatever happened, the environment was dropped above: every process is stopped.
    report.header.push((
        "harness time".into(),
        format!("{:.0} s", started.elapsed().as_secs_f64()),
    ));
    let code = match &result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report.note(format!("**The run stopped early**: {e:#}"));
            ExitCode::FAILURE
        }
    };
    write_report(&report, out.as_deref());
    code
}
