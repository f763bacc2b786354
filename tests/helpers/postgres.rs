//! The test binary's PostgreSQL: `DATABASE_URL` or one private server started for the whole
//! binary, and a fresh database per test, cloned from a migrated template.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gatehouse::embedded_pg::{EmbeddedPostgres, TEST_SETTINGS};
use secrecy::ExposeSecret;
use sqlx::{Connection, PgPool};
use uuid::Uuid;

/// Where test databases are made: `DATABASE_URL` (a server the caller provides) or a private
/// server started once for this test binary.
struct TestServer {
    admin_url: String,
    private: Option<PrivateServer>,
}

/// The private server and the directory it lives in; both go when the test binary exits.
struct PrivateServer {
    postgres: EmbeddedPostgres,
    dir: PathBuf,
}

/// Private servers' directories are named after the test binary's process, so a later run can
/// tell which ones were abandoned (a run that was killed never reaches its exit handler).
const DIR_PREFIX: &str = "gatehouse-test-";

static SERVER: OnceLock<TestServer> = OnceLock::new();
const TEMPLATE: &str = "gatehouse_test_template";

fn server() -> &'static TestServer {
    SERVER.get_or_init(|| {
        let (admin_url, embedded) = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => (url, None),
            _ => {
                let private = start_private_server();
                let url = private.postgres.url("postgres").expose_secret().to_owned();
                (url, Some(private))
            }
        };
        // Migrate a template once; every test clones it (much faster than migrating each time).
        let url = admin_url.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut conn = connect_retrying(&url).await;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {TEMPLATE}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                sqlx::query(&format!("CREATE DATABASE {TEMPLATE}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let pool = PgPool::connect(&with_database(&url, TEMPLATE))
                    .await
                    .unwrap();
                gatehouse::db::migrate(&pool)
                    .await
                    .expect("migrations apply from empty");
                pool.close().await;
            });
        })
        .join()
        .expect("template database");
        TestServer {
            admin_url,
            private: embedded,
        }
    })
}

fn start_private_server() -> PrivateServer {
    let temp = std::env::temp_dir();
    remove_abandoned_servers(&temp);
    let dir = temp.join(format!(
        "{DIR_PREFIX}{}-{}",
        std::process::id(),
        Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("test data dir");
    open_to_postgres(&dir);
    // Statics are never dropped, so the server and its (gigabyte-sized) directory are removed
    // by an exit handler; libtest leaves through `exit` whether the tests passed or not.
    // SAFETY: registering a plain `extern "C"` function that takes no arguments.
    if unsafe { libc::atexit(remove_private_server) } != 0 {
        eprintln!("cannot register the test PostgreSQL's clean-up; remove {dir:?} by hand");
    }
    let postgres = EmbeddedPostgres::start(&dir, TEST_SETTINGS).expect("start the test PostgreSQL");
    PrivateServer { postgres, dir }
}

/// Lets the PostgreSQL server into `dir`: it runs as another user when the tests run as root.
pub fn open_to_postgres(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

extern "C" fn remove_private_server() {
    if let Some(private) = SERVER.get().and_then(|server| server.private.as_ref()) {
        private.postgres.stop();
        let _ = std::fs::remove_dir_all(&private.dir);
    }
}

/// Removes the directories of private servers whose test binary is gone and whose PostgreSQL
/// has stopped (it stops itself when its parent dies), e.g. after a run was killed.
fn remove_abandoned_servers(temp: &Path) {
    let Ok(entries) = std::fs::read_dir(temp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(DIR_PREFIX)) else {
            continue;
        };
        let owner = rest.split('-').next().and_then(|pid| pid.parse().ok());
        let postmaster = std::fs::read_to_string(entry.path().join("postgres/postmaster.pid"))
            .ok()
            .and_then(|pid_file| pid_file.lines().next()?.trim().parse().ok());
        if !owner.is_some_and(is_running) && !postmaster.is_some_and(is_running) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn is_running(pid: i32) -> bool {
    // Signal 0 only checks: EPERM means the process exists under another user.
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(errno) => errno == nix::errno::Errno::EPERM,
    }
}

async fn connect_retrying(url: &str) -> sqlx::PgConnection {
    for _ in 0..100 {
        if let Ok(c) = sqlx::PgConnection::connect(url).await {
            return c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("cannot connect to the test PostgreSQL");
}

pub fn with_database(url: &str, database: &str) -> String {
    let mut u = url::Url::parse(url).expect("database URL");
    u.set_path(&format!("/{database}"));
    u.to_string()
}

/// A fresh, migrated database; returns its URL.
pub async fn fresh_database() -> String {
    let server = server();
    let name = format!("t_{}", Uuid::new_v4().simple());
    let mut conn = connect_retrying(&server.admin_url).await;
    sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    conn.close().await.ok();
    with_database(&server.admin_url, &name)
}

/// An empty database without migrations (to test migrating from empty).
pub async fn empty_database() -> String {
    let server = server();
    let name = format!("e_{}", Uuid::new_v4().simple());
    let mut conn = connect_retrying(&server.admin_url).await;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create empty database");
    conn.close().await.ok();
    with_database(&server.admin_url, &name)
}
