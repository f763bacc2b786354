//! Which PostgreSQL and which master key a process uses: `DATABASE_URL` and
//! `GATEHOUSE_MASTER_KEY`, or the private server and a generated key in the data directory.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;

use crate::config::Settings;
use crate::crypto::seal::{MasterKey, Sealer};
use crate::embedded_pg::{connect_with_retry, EmbeddedPostgres};

/// The pool, and the private server behind it if there is one (stopped when dropped).
pub struct Database {
    pub pool: PgPool,
    embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Connects to `DATABASE_URL`, or to the private server of the data directory: the one a
    /// running `gatehouse serve` already started, or a new one owned by this process.
    pub async fn open(settings: &Settings) -> anyhow::Result<Self> {
        if let Some(url) = &settings.database_url {
            let pool =
                connect_with_retry(url, settings.db_max_connections, Duration::from_secs(10))
                    .await
                    .context("connecting to DATABASE_URL")?;
            return Ok(Database {
                pool,
                embedded: None,
            });
        }
        if let Some(url) = running_private_server(&settings.data_dir) {
            let pool = connect_with_retry(
                &url,
                settings.db_max_connections,
                Duration::from_secs(10),
            )
            .await
            .context(
                "connecting to the private PostgreSQL already running for this data directory",
            )?;
            return Ok(Database {
                pool,
                embedded: None,
            });
        }
        let data_dir = settings.data_dir.clone();
        let server = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&data_dir, &[]))
            .await
            .context("starting the private PostgreSQL")??;
        tracing::info!(port = server.port(), cluster = %server.cluster_dir().display(), "private PostgreSQL started");
        let pool = async {
            connect_with_retry(&server.url("postgres"), 1, Duration::from_secs(30))
                .await?
                .close()
                .await;
            server.ensure_database("gatehouse").await?;
            connect_with_retry(
                &server.url("gatehouse"),
                settings.db_max_connections,
                Duration::from_secs(30),
            )
            .await
        }
        .await
        .context("preparing the private PostgreSQL")?;
        Ok(Database {
            pool,
            embedded: Some(server),
        })
    }

    /// Closes the pool, then stops the private server if this process started it.
    pub async fn close(self) {
        self.pool.close().await;
        if let Some(server) = self.embedded {
            let _ = tokio::task::spawn_blocking(move || drop(server)).await;
        }
    }
}

/// The URL of a private server another Gatehouse process runs for `data_dir`, read from
/// PostgreSQL's own `postmaster.pid` (its fourth line is the port).
fn running_private_server(data_dir: &Path) -> Option<SecretString> {
    let password = fs::read_to_string(data_dir.join("postgres.password")).ok()?;
    // The cluster may live under /var/tmp when the data dir is not reachable (see embedded_pg).
    let cluster = fs::read_to_string(data_dir.join("postgres.location")).ok()?;
    let pid_file = fs::read_to_string(Path::new(cluster.trim()).join("postmaster.pid")).ok()?;
    let mut lines = pid_file.lines();
    let pid: i32 = lines.next()?.trim().parse().ok()?;
    let port: u16 = lines.nth(2)?.trim().parse().ok()?;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).ok()?;
    Some(SecretString::from(format!(
        "postgres://gatehouse:{}@127.0.0.1:{port}/gatehouse",
        password.trim()
    )))
}

/// The sealer from `GATEHOUSE_MASTER_KEY` (and previous keys). Without a key, only the private
/// database setup may proceed: a key is generated once into the data directory, with a warning.
pub fn sealer(settings: &Settings) -> anyhow::Result<Sealer> {
    let previous = settings
        .previous_master_keys
        .iter()
        .map(MasterKey::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|m| anyhow::anyhow!("GATEHOUSE_PREVIOUS_MASTER_KEYS: {m}"))?;
    let current = match &settings.master_key {
        Some(key) => {
            MasterKey::parse(key).map_err(|m| anyhow::anyhow!("GATEHOUSE_MASTER_KEY: {m}"))?
        }
        None if settings.database_url.is_some() => {
            bail!("GATEHOUSE_MASTER_KEY is required when DATABASE_URL is set (generate one with `openssl rand -base64 32`)")
        }
        None => {
            let text = local_master_key(&settings.data_dir)?;
            MasterKey::parse(&text).map_err(|m| {
                anyhow::anyhow!("{}: {m}", settings.data_dir.join("master.key").display())
            })?
        }
    };
    Ok(Sealer::new(current, previous))
}

fn local_master_key(data_dir: &Path) -> anyhow::Result<SecretString> {
    let path = data_dir.join("master.key");
    if let Ok(text) = fs::read_to_string(&path) {
        return Ok(SecretString::from(text.trim().to_owned()));
    }
    fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let text = MasterKey::generate_text();
    fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600))?;
    tracing::warn!(
        path = %path.display(),
        "GATEHOUSE_MASTER_KEY is not set: generated a master key for this private setup. Back it up; \
         set GATEHOUSE_MASTER_KEY in any other setup"
    );
    Ok(SecretString::from(text))
}

/// Keeps `expose_secret` in one place for the URL's password-free rendering in logs.
pub fn redacted_url(url: &SecretString) -> String {
    match url::Url::parse(url.expose_secret()) {
        Ok(mut u) => {
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => "(unparseable URL)".to_owned(),
    }
}
