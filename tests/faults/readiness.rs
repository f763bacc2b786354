//! Readiness that tells the truth: a node whose database is a standby in recovery (a demoted
//! primary, or a replica it was pointed at) is not ready, because every login writes; while
//! its liveness stays 200, so a load balancer checking it does not drop a fleet whose
//! database is failing over. The standby is a real one, streaming from a real primary.

use std::process::Command;

use gatehouse::crypto::seal::MasterKey;
use gatehouse::embedded_pg::EmbeddedPostgres;
use secrecy::ExposeSecret;

use crate::helpers;
use crate::support::{browser, migrated_pg, pg_data_dir, start_pg, SERIAL};

/// The newest installed PostgreSQL's `pg_basebackup`.
fn pg_basebackup() -> std::path::PathBuf {
    let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL installed under /usr/lib/postgresql")
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin/pg_basebackup"))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop().expect("pg_basebackup installed")
}

/// A standby of `primary` in `dir`'s cluster directory: a base backup with recovery settings
/// (`-R`), made as the server's user, started as an embedded server of its own.
async fn standby_of(primary: &EmbeddedPostgres, dir: &std::path::Path) -> EmbeddedPostgres {
    let url = url::Url::parse(primary.url("postgres").expose_secret()).unwrap();
    let password = url.password().unwrap().to_owned();
    let cluster = dir.join("postgres");
    std::fs::create_dir_all(&cluster).unwrap();
    let as_root = nix::unistd::Uid::effective().is_root();
    if as_root {
        let user = nix::unistd::User::from_name("postgres").unwrap().unwrap();
        nix::unistd::chown(&cluster, Some(user.uid), Some(user.gid)).unwrap();
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&cluster, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut cmd = if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(pg_basebackup());
        c
    } else {
        Command::new(pg_basebackup())
    };
    let port = primary.port().to_string();
    let output = cmd
        .args(["-h", "127.0.0.1", "-p", &port, "-U", url.username(), "-D"])
        .arg(&cluster)
        .args(["-R", "-X", "stream", "--no-sync", "--checkpoint=fast"])
        .env("PGPASSWORD", &password)
        .output()
        .expect("run pg_basebackup");
    assert!(
        output.status.success(),
        "pg_basebackup: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The standby's superuser is the primary's: the embedded server reads its password here.
    std::fs::write(dir.join("postgres.password"), &password).unwrap();
    start_pg(dir, None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_on_a_standby_is_not_ready_while_it_stays_alive() {
    let _serial = SERIAL.lock().await;
    let primary_dir = pg_data_dir();
    let (primary, primary_url) = migrated_pg(primary_dir.path()).await;

    let standby_dir = pg_data_dir();
    let standby = standby_of(&primary, standby_dir.path()).await;
    let standby_url = standby.url("gatehouse").expose_secret().to_owned();
    let key = MasterKey::generate_text();
    let on_primary = helpers::spawn_app_configured(primary_url, key.clone(), &[]).await;
    let on_standby = helpers::spawn_app_configured(standby_url, key, &[]).await;

    let probe = |app: &helpers::TestApp, path: &str| {
        let url = format!("http://127.0.0.1:{}{path}", app.port);
        async move {
            let res = browser().get(url).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap_or_default())
        }
    };
    assert_eq!(probe(&on_primary, "/readyz").await.0, 200);
    let (status, body) = probe(&on_standby, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("standby"), "{body}");
    assert_eq!(
        probe(&on_standby, "/healthz").await.0,
        200,
        "alive all the same"
    );
    drop(standby);
    drop(primary);
}
