//! Two or more `gatehouse serve` nodes on one database, behind a tiny load balancer: what the
//! node scenarios start from and how they drive the nodes.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fake_exact::FakeExactHandle;
use gatehouse::crypto::seal::MasterKey;
use secrecy::SecretString;
use sqlx::PgPool;

use crate::helpers::{self, Fixtures};
use crate::support::{make_site, Outcome, Started, Target};

/// A tiny TCP load balancer on the base domain's port: each connection goes to the preferred
/// node, or to the next one that accepts if that one is down.
pub struct Proxy {
    pub port: u16,
    backends: Arc<Mutex<Vec<SocketAddr>>>,
    preferred: Arc<AtomicUsize>,
    /// Whether each connection goes to the next node in turn instead of the preferred one.
    round_robin: Arc<AtomicBool>,
    served: Arc<Mutex<HashMap<SocketAddr, usize>>>,
}

impl Proxy {
    pub async fn start() -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            port: listener.local_addr().unwrap().port(),
            backends: Arc::default(),
            preferred: Arc::default(),
            round_robin: Arc::default(),
            served: Arc::default(),
        };
        let (backends, preferred, round_robin, served) = (
            proxy.backends.clone(),
            proxy.preferred.clone(),
            proxy.round_robin.clone(),
            proxy.served.clone(),
        );
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let first = if round_robin.load(Ordering::SeqCst) {
                    preferred.fetch_add(1, Ordering::SeqCst)
                } else {
                    preferred.load(Ordering::SeqCst)
                };
                let (backends, served) = (backends.clone(), served.clone());
                tokio::spawn(async move {
                    let list = backends.lock().unwrap().clone();
                    for i in 0..list.len() {
                        let addr = list[(first + i) % list.len()];
                        if let Ok(mut outbound) = tokio::net::TcpStream::connect(addr).await {
                            *served.lock().unwrap().entry(addr).or_insert(0) += 1;
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            return;
                        }
                    }
                });
            }
        });
        proxy
    }

    pub fn route_to(&self, backends: &[SocketAddr], preferred: usize) {
        *self.backends.lock().unwrap() = backends.to_vec();
        self.preferred.store(preferred, Ordering::SeqCst);
        self.round_robin.store(false, Ordering::SeqCst);
    }

    /// Sends each new connection to the next of `backends` in turn.
    pub fn spread_over(&self, backends: &[SocketAddr]) {
        *self.backends.lock().unwrap() = backends.to_vec();
        self.round_robin.store(true, Ordering::SeqCst);
    }

    pub fn served(&self, addr: SocketAddr) -> usize {
        self.served.lock().unwrap().get(&addr).copied().unwrap_or(0)
    }
}

/// A `gatehouse serve` child process.
pub struct Node {
    pub child: tokio::process::Child,
    pub addr: SocketAddr,
    log: std::path::PathBuf,
}

impl Node {
    pub async fn spawn(
        name: &str,
        database_url: &str,
        master_key: &str,
        base_port: u16,
        dir: &Path,
    ) -> Node {
        Node::spawn_logging(name, database_url, master_key, base_port, dir, "warn").await
    }

    pub async fn spawn_logging(
        name: &str,
        database_url: &str,
        master_key: &str,
        base_port: u16,
        dir: &Path,
        rust_log: &str,
    ) -> Node {
        let port = free_port();
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        for (var, _) in std::env::vars() {
            if var.starts_with("GATEHOUSE_") {
                command.env_remove(var);
            }
        }
        let child = command
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("GATEHOUSE_MASTER_KEY", master_key)
            .env("GATEHOUSE_LISTEN", format!("127.0.0.1:{port}"))
            .env("GATEHOUSE_BASE_DOMAIN", format!("localhost:{base_port}"))
            .env("GATEHOUSE_UPSTREAM_TIMEOUT_MS", "15000")
            .env("GATEHOUSE_DATA_DIR", dir.join(name))
            .env("RUST_LOG", rust_log)
            .stdin(std::process::Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .kill_on_drop(true)
            .spawn()
            .expect("start gatehouse serve");
        let mut node = Node {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
        };
        let health = format!("http://{}/healthz", node.addr);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = node.child.try_wait() {
                panic!("node {name} exited ({status}): {}", node.log_text());
            }
            if let Ok(res) = reqwest::get(&health).await {
                if res.status() == 200 {
                    return node;
                }
            }
            assert!(
                Instant::now() < deadline,
                "node {name} never became healthy"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.child.id().expect("a running node") as i32)
    }
}

/// What the tests with `gatehouse serve` nodes start from: a fresh database, a proxy where
/// the nodes will sit, the site (tenant, application, fake Exact) and a directory for logs.
pub struct NodesSite {
    pub database_url: String,
    pub master_key: String,
    pub proxy: Proxy,
    pub pool: PgPool,
    pub fake: FakeExactHandle,
    pub t: Target,
    pub dir: tempfile::TempDir,
}

impl NodesSite {
    pub async fn start() -> NodesSite {
        let database_url = helpers::fresh_database().await;
        let master_key = MasterKey::generate_text();
        let proxy = Proxy::start().await;
        let pool = gatehouse::db::connect(&SecretString::from(database_url.clone()), 4)
            .await
            .unwrap();
        let settings = helpers::test_settings(proxy.port, &database_url, &master_key);
        let mut site = make_site(Fixtures {
            pool: &pool,
            sealer: &helpers::sealer_for(&master_key),
            settings: &settings,
        })
        .await;
        NodesSite {
            fake: site.fake.take().expect("the fake"),
            t: site.target.clone(),
            dir: tempfile::tempdir().unwrap(),
            database_url,
            master_key,
            proxy,
            pool,
        }
    }
}

/// Starts `logins` callbacks at once in the background.
pub fn finish_in_background(t: &Target, logins: Vec<Started>) -> tokio::task::JoinSet<Outcome> {
    let mut set = tokio::task::JoinSet::new();
    for s in logins {
        let t = t.clone();
        set.spawn(async move { t.finish_login(&s).await });
    }
    set
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
