//! A private PostgreSQL server started from the local installation, for running Gatehouse (and
//! its tests) with nothing set up beforehand.
//!
//! The cluster lives in `{data dir}/postgres` and is reused on the next start. PostgreSQL
//! refuses to run as root, so when Gatehouse is root the server runs as the `postgres` system
//! user. The server is a direct child that receives SIGINT (fast shutdown) when Gatehouse exits,
//! even if Gatehouse is killed, so no server is ever left behind.

use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::unistd::{Gid, Uid, User};
use rand::distributions::Alphanumeric;
use rand::Rng;
use secrecy::SecretString;

const SUPERUSER: &str = "gatehouse";

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "no PostgreSQL installation found (looked for `initdb` and `postgres` on PATH and in \
         /usr/lib/postgresql/*/bin). Install it (Debian/Ubuntu: `apt-get install postgresql`) \
         or set DATABASE_URL to an existing server"
    )]
    NotInstalled,
    #[error(
        "Gatehouse runs as root and PostgreSQL refuses to; create an unprivileged `postgres` \
         user (`useradd --system postgres`) or set DATABASE_URL"
    )]
    NoUnprivilegedUser,
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Failed(String),
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EmbeddedError {
    let context = context.into();
    move |source| EmbeddedError::Io { context, source }
}

/// Settings that trade durability for speed, for throwaway test clusters.
pub const TEST_SETTINGS: &[(&str, &str)] = &[
    ("fsync", "off"),
    ("synchronous_commit", "off"),
    ("full_page_writes", "off"),
    ("max_connections", "300"),
];

pub struct EmbeddedPostgres {
    pid: u32,
    port: u16,
    password: String,
    cluster_dir: PathBuf,
}

impl EmbeddedPostgres {
    /// Starts (creating on first use) the cluster under `data_dir`, with extra server settings.
    pub fn start(data_dir: &Path, settings: &[(&str, &str)]) -> Result<Self, EmbeddedError> {
        Self::start_with_port(data_dir, settings, None)
    }

    /// Like [`EmbeddedPostgres::start`] on a given port, so a cluster stopped with
    /// [`EmbeddedPostgres::stop`] comes back where existing pools look for it.
    pub fn start_on_port(
        data_dir: &Path,
        settings: &[(&str, &str)],
        port: u16,
    ) -> Result<Self, EmbeddedError> {
        Self::start_with_port(data_dir, settings, Some(port))
    }

    fn start_with_port(
        data_dir: &Path,
        settings: &[(&str, &str)],
        port: Option<u16>,
    ) -> Result<Self, EmbeddedError> {
        let bin = find_binaries().ok_or(EmbeddedError::NotInstalled)?;
        let run_as = if Uid::effective().is_root() {
            Some(
                User::from_name("postgres")
                    .ok()
                    .flatten()
                    .ok_or(EmbeddedError::NoUnprivilegedUser)?,
            )
        } else {
            None
        };
        fs::create_dir_all(data_dir).map_err(io_err(format!("creating {}", data_dir.display())))?;
        let data_dir = data_dir
            .canonicalize()
            .map_err(io_err(format!("resolving {}", data_dir.display())))?;
        let cluster_dir = cluster_dir_for(&data_dir, run_as.as_ref())?;
        // Other Gatehouse processes (CLI commands beside a running server) find it through this.
        fs::write(
            data_dir.join("postgres.location"),
            cluster_dir.as_os_str().as_encoded_bytes(),
        )
        .map_err(io_err("writing postgres.location"))?;
        let password = cluster_password(&data_dir)?;

        if !cluster_dir.join("PG_VERSION").exists() {
            init_cluster(&bin, &cluster_dir, &password, run_as.as_ref())?;
        }

        let port = match port {
            Some(port) => port,
            None => free_port()?,
        };
        let log_path = data_dir.join("postgres.log");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io_err(format!("opening {}", log_path.display())))?;
        let mut cmd = Command::new(bin.join("postgres"));
        cmd.arg("-D")
            .arg(&cluster_dir)
            .args([
                "-p",
                &port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io_err("log file"))?)
            .stderr(log);
        for (name, value) in settings {
            cmd.arg("-c").arg(format!("{name}={value}"));
        }
        if let Some(user) = &run_as {
            cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw());
        }
        // SAFETY: prctl is async-signal-safe; it runs in the forked child before exec.
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGINT)
                    .map_err(std::io::Error::from)
            });
        }
        let child = spawn_from_immortal_thread(cmd)?;
        let server = EmbeddedPostgres {
            pid: child.id(),
            port,
            password,
            cluster_dir,
        };
        server.wait_until_ready(child, &log_path)?;
        Ok(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn cluster_dir(&self) -> &Path {
        &self.cluster_dir
    }

    /// A URL for `database` on this server, as its superuser.
    pub fn url(&self, database: &str) -> SecretString {
        SecretString::from(format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        ))
    }

    /// Creates `database` if it does not exist yet.
    pub async fn ensure_database(&self, database: &str) -> Result<(), sqlx::Error> {
        use secrecy::ExposeSecret;
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(self.url("postgres").expose_secret()).await?;
        let exists = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1::text) AS "exists!""#,
            database,
        )
        .fetch_one(&mut conn)
        .await?;
        if !exists {
            // DDL takes no parameters, so the one statement built at run time: the name is ours
            // (the configured database), quoted.
            sqlx::query(&format!(
                "CREATE DATABASE \"{}\"",
                database.replace('"', "")
            ))
            .execute(&mut conn)
            .await?;
        }
        conn.close().await
    }

    /// Fast shutdown; waits up to 15 s for the server to exit.
    pub fn stop(&self) {
        let pid = nix::unistd::Pid::from_raw(self.pid as i32);
        if nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).is_err() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline && nix::sys::signal::kill(pid, None).is_ok() {
            if self.cluster_dir.join("postmaster.pid").exists() {
                std::thread::sleep(Duration::from_millis(50));
            } else {
                break;
            }
        }
    }

    fn wait_until_ready(&self, mut child: Child, log_path: &Path) -> Result<(), EmbeddedError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(EmbeddedError::Failed(format!(
                    "PostgreSQL exited ({status}) while starting; the end of {}:\n{}",
                    log_path.display(),
                    tail(log_path)
                )));
            }
            if TcpStream::connect_timeout(&addr.into(), Duration::from_millis(200)).is_ok() {
                // The port opens slightly before startup recovery ends; the caller's first
                // connection retries through that window (see `connect_with_retry`).
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(EmbeddedError::Failed(format!(
                    "PostgreSQL did not accept connections within 60 s; see {}",
                    log_path.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The parent-death signal fires when the *thread* that forked the child exits, so the fork
/// happens on a thread that never does; the signal then comes only when the process ends.
fn spawn_from_immortal_thread(mut cmd: Command) -> Result<Child, EmbeddedError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("embedded-postgres".into())
        .spawn(move || {
            let _ = tx.send(cmd.spawn());
            loop {
                std::thread::park();
            }
        })
        .map_err(io_err("starting the embedded PostgreSQL thread"))?;
    rx.recv()
        .map_err(|_| EmbeddedError::Failed("embedded PostgreSQL thread died".into()))?
        .map_err(io_err("starting postgres"))
}

fn find_binaries() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_both(&dir) {
                return Some(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| has_both(bin))
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// `{data dir}/postgres`, unless the server's user cannot reach it (a root-only parent such as
/// a `mktemp -d` folder): then a fixed place under /var/tmp derived from the data dir, so the
/// cluster is still found again on the next start.
fn cluster_dir_for(data_dir: &Path, run_as: Option<&User>) -> Result<PathBuf, EmbeddedError> {
    let preferred = data_dir.join("postgres");
    let Some(user) = run_as else {
        return Ok(preferred);
    };
    let dir = if reachable_by(data_dir, user) {
        preferred
    } else {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
        let name: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let base = PathBuf::from("/var/tmp/gatehouse-postgres");
        fs::create_dir_all(&base).map_err(io_err("creating /var/tmp/gatehouse-postgres"))?;
        fs::set_permissions(&base, fs::Permissions::from_mode(0o755)).map_err(io_err("chmod"))?;
        tracing::warn!(
            data_dir = %data_dir.display(),
            "the postgres user cannot reach the data directory; keeping the cluster under /var/tmp/gatehouse-postgres/{name}"
        );
        base.join(name)
    };
    if !dir.exists() {
        fs::create_dir_all(&dir).map_err(io_err(format!("creating {}", dir.display())))?;
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
        .map_err(io_err("chmod cluster dir"))?;
    nix::unistd::chown(&dir, Some(user.uid), Some(user.gid))
        .map_err(|e| EmbeddedError::Failed(format!("chown {}: {e}", dir.display())))?;
    Ok(dir)
}

/// Whether every ancestor of `dir` (and `dir` itself) can be traversed by `user`.
fn reachable_by(dir: &Path, user: &User) -> bool {
    dir.ancestors().all(|p| {
        let Ok(meta) = fs::metadata(p) else {
            return false;
        };
        let mode = meta.mode();
        if Uid::from_raw(meta.uid()) == user.uid {
            mode & 0o100 != 0
        } else if Gid::from_raw(meta.gid()) == user.gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        }
    })
}

fn cluster_password(data_dir: &Path) -> Result<String, EmbeddedError> {
    let path = data_dir.join("postgres.password");
    if let Ok(existing) = fs::read_to_string(&path) {
        if !existing.trim().is_empty() {
            return Ok(existing.trim().to_owned());
        }
    }
    let password: String = rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    fs::write(&path, &password).map_err(io_err(format!("writing {}", path.display())))?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
        .map_err(io_err("chmod password file"))?;
    Ok(password)
}

fn init_cluster(
    bin: &Path,
    cluster_dir: &Path,
    password: &str,
    run_as: Option<&User>,
) -> Result<(), EmbeddedError> {
    // initdb reads the password from a file the server's user can read; it lives only briefly.
    let pwfile = std::env::temp_dir().join(format!("gatehouse-pw-{}", std::process::id()));
    fs::write(&pwfile, password).map_err(io_err("writing the initdb password file"))?;
    fs::set_permissions(&pwfile, fs::Permissions::from_mode(0o600)).map_err(io_err("chmod"))?;
    if let Some(user) = run_as {
        nix::unistd::chown(&pwfile, Some(user.uid), Some(user.gid))
            .map_err(|e| EmbeddedError::Failed(format!("chown password file: {e}")))?;
    }
    let mut cmd = Command::new(bin.join("initdb"));
    cmd.arg("-D")
        .arg(cluster_dir)
        .args([
            "-U",
            SUPERUSER,
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ])
        .arg(format!("--pwfile={}", pwfile.display()))
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(user) = run_as {
        cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw());
    }
    let output = cmd.output();
    let _ = fs::remove_file(&pwfile);
    let output = output.map_err(io_err("running initdb"))?;
    if !output.status.success() {
        return Err(EmbeddedError::Failed(format!(
            "initdb failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(())
}

fn free_port() -> Result<u16, EmbeddedError> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io_err("finding a free port"))?;
    Ok(listener
        .local_addr()
        .map_err(io_err("finding a free port"))?
        .port())
}

fn tail(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = fs::File::open(path) {
        let _ = f.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Connects, retrying for up to `patience` while the server finishes starting up.
pub async fn connect_with_retry(
    url: &SecretString,
    max_connections: u32,
    patience: Duration,
) -> Result<sqlx::PgPool, sqlx::Error> {
    let deadline = Instant::now() + patience;
    loop {
        match crate::db::connect(url, max_connections).await {
            Ok(pool) => return Ok(pool),
            Err(e) if Instant::now() < deadline => {
                tracing::debug!(error = %e, "database not ready yet");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    }
}
