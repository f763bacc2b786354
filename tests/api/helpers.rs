//! The test harness: one private PostgreSQL for the whole test binary, a fresh database per
//! test (cloned from a migrated template), the app on port 0, and a client that reaches every
//! `*.localhost` host on loopback, keeps cookies and does not follow redirects.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use fake_exact::{FakeApp, FakeExact, FakeExactHandle};
use gatehouse::config::Settings;
use gatehouse::crypto::seal::{MasterKey, Sealer};
use gatehouse::embedded_pg::{EmbeddedPostgres, TEST_SETTINGS};
use gatehouse::services::{self, Actor};
use gatehouse::startup::Application;
use gatehouse::state::AppState;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
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
    // The server may run as another user (when tests run as root): let it in.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // Statics are never dropped, so the server and its (gigabyte-sized) directory are removed
    // by an exit handler; libtest leaves through `exit` whether the tests passed or not.
    // SAFETY: registering a plain `extern "C"` function that takes no arguments.
    if unsafe { libc::atexit(remove_private_server) } != 0 {
        eprintln!("cannot register the test PostgreSQL's clean-up; remove {dir:?} by hand");
    }
    let postgres = EmbeddedPostgres::start(&dir, TEST_SETTINGS).expect("start the test PostgreSQL");
    PrivateServer { postgres, dir }
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

/// Resolves every host name to loopback, so `acme.localhost:PORT` reaches the test server.
struct Loopback;

impl reqwest::dns::Resolve for Loopback {
    fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async {
            let addrs: reqwest::dns::Addrs =
                Box::new(vec![SocketAddr::from(([127, 0, 0, 1], 0))].into_iter());
            Ok(addrs)
        })
    }
}

/// The user agent the test browser sends, as every browser sends one.
pub const TEST_USER_AGENT: &str = "GatehouseTests/1.0 (test browser)";

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(TEST_USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .dns_resolver(Arc::new(Loopback))
        .build()
        .unwrap()
}

pub struct TestApp {
    pub port: u16,
    pub base_domain: String,
    pub database_url: String,
    pub pool: PgPool,
    pub state: Arc<AppState>,
    pub master_key: String,
    /// A browser: keeps cookies, does not follow redirects.
    pub http: reqwest::Client,
}

pub struct TestTenant {
    pub tenant_id: Uuid,
    pub slug: String,
    pub host: String,
    pub issuer: String,
}

#[derive(Clone)]
pub struct TestClient {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub callback: String,
}

pub fn test_settings(port: u16, database_url: &str, master_key: &str) -> Settings {
    test_settings_with(port, database_url, master_key, &[])
}

pub fn test_settings_with(
    port: u16,
    database_url: &str,
    master_key: &str,
    extra: &[(&str, &str)],
) -> Settings {
    let mut vars: HashMap<&str, String> = HashMap::from([
        ("GATEHOUSE_LISTEN", format!("127.0.0.1:{port}")),
        ("DATABASE_URL", database_url.to_owned()),
        ("GATEHOUSE_BASE_DOMAIN", format!("localhost:{port}")),
        ("GATEHOUSE_MASTER_KEY", master_key.to_owned()),
        ("GATEHOUSE_UPSTREAM_TIMEOUT_MS", "2000".to_owned()),
        ("GATEHOUSE_UPSTREAM_CONNECT_TIMEOUT_MS", "1000".to_owned()),
    ]);
    for (k, v) in extra {
        vars.insert(k, v.to_string());
    }
    Settings::from_lookup(|k| vars.get(k).cloned()).expect("test settings")
}

pub async fn spawn_app() -> TestApp {
    let database_url = fresh_database().await;
    spawn_app_on(database_url, MasterKey::generate_text()).await
}

/// Another node on the same database and master key.
pub async fn spawn_app_on(database_url: String, master_key: String) -> TestApp {
    spawn_app_configured(database_url, master_key, &[]).await
}

/// An app with some settings overridden (`GATEHOUSE_...` variables).
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    spawn_app_configured(fresh_database().await, MasterKey::generate_text(), extra).await
}

async fn spawn_app_configured(
    database_url: String,
    master_key: String,
    extra: &[(&str, &str)],
) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let settings = test_settings_with(port, &database_url, &master_key, extra);
    let pool = gatehouse::db::connect(&SecretString::from(database_url.clone()), 10)
        .await
        .expect("test pool");
    let sealer = Sealer::new(
        MasterKey::parse(&SecretString::from(master_key.clone())).unwrap(),
        vec![],
    );
    let state = AppState::new(settings, pool.clone(), sealer);
    let app = Application::build(state.clone(), listener).expect("build app");
    tokio::spawn(app.run_until_stopped());
    TestApp {
        port,
        base_domain: format!("localhost:{port}"),
        database_url,
        pool,
        state,
        master_key,
        http: browser(),
    }
}

impl TestApp {
    /// Changes configuration behind the app's back (plain SQL), then waits until the app has
    /// heard of it through the database's notification, as another node would.
    pub async fn execute_config_sql(&self, sql: &str) {
        self.change_config(async {
            sqlx::query(sql)
                .execute(&self.pool)
                .await
                .expect("config SQL");
        })
        .await
    }

    /// Runs a configuration change made outside the app's HTTP surface (a service call, SQL),
    /// then waits until the app has heard of it through the database's notification, so the
    /// next request cannot be answered from what the app cached before.
    pub async fn change_config<T>(&self, change: impl std::future::Future<Output = T>) -> T {
        use std::sync::atomic::Ordering;
        let stats = &self.state.cache.stats;
        let before = stats.invalidations.load(Ordering::SeqCst);
        let out = change.await;
        if !self.state.cache.is_live() {
            return out; // not caching yet: every read goes to the database
        }
        for _ in 0..500 {
            if stats.invalidations.load(Ordering::SeqCst) > before {
                return out;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the configuration change was never announced");
    }

    /// A tenant's discovery document.
    pub async fn discovery(&self, tenant: &TestTenant) -> serde_json::Value {
        self.get_json(&self.tenant_url(tenant, "/.well-known/openid-configuration"))
            .await
    }

    /// The key ids a tenant's JWKS publishes.
    pub async fn published_kids(&self, tenant: &TestTenant) -> Vec<String> {
        let jwks = self
            .get_json(&self.tenant_url(tenant, "/.well-known/jwks.json"))
            .await;
        jwks["keys"]
            .as_array()
            .expect("a JWKS")
            .iter()
            .map(|k| k["kid"].as_str().expect("a kid").to_owned())
            .collect()
    }

    async fn get_json(&self, url: &str) -> serde_json::Value {
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.base_domain)
    }

    pub fn tenant_url(&self, tenant: &TestTenant, path: &str) -> String {
        format!("http://{}{path}", tenant.host)
    }

    /// The same tenant as seen through this node (test nodes differ in base domain).
    pub fn tenant_on_this_node(&self, tenant: &TestTenant) -> TestTenant {
        let host = format!("{}.{}", tenant.slug, self.base_domain);
        TestTenant {
            tenant_id: tenant.tenant_id,
            slug: tenant.slug.clone(),
            issuer: format!("http://{host}/"),
            host,
        }
    }

    pub async fn create_tenant(&self, slug: &str) -> TestTenant {
        let t = services::tenants::create(
            &self.pool,
            &self.state.sealer,
            &self.state.settings,
            slug,
            None,
            &[],
        )
        .await
        .expect("create tenant");
        let host = format!("{slug}.{}", self.base_domain);
        TestTenant {
            tenant_id: t.tenant_id,
            slug: slug.to_owned(),
            issuer: format!("http://{host}/"),
            host,
        }
    }

    /// A client of `app_type` with one callback on a made-up app host.
    pub async fn create_client(&self, tenant: &TestTenant, app_type: &str) -> TestClient {
        let callback = format!(
            "https://app.example.com/{}/callback",
            Uuid::new_v4().simple()
        );
        let input = services::clients::ClientInput {
            name: Some(format!("{app_type} app")),
            app_type: Some(app_type.to_owned()),
            callbacks: Some(vec![callback.clone()]),
            allowed_logout_urls: Some(vec!["https://app.example.com/logged-out".into()]),
            ..Default::default()
        };
        let (client, secret) =
            services::clients::create(&self.pool, tenant.tenant_id, &input, &Actor::named("test"))
                .await
                .expect("create client");
        TestClient {
            client_id: client.client_id,
            client_secret: secret,
            callback,
        }
    }

    /// An Exact connection pointing at `fake`, registered there with its own credentials, and
    /// enabled for `clients`.
    pub async fn create_exact_connection(
        &self,
        tenant: &TestTenant,
        name: &str,
        fake: &FakeExactHandle,
        clients: &[&TestClient],
    ) -> String {
        let client_id = format!("exact-{}", Uuid::new_v4().simple());
        let client_secret = format!("secret-{}", Uuid::new_v4().simple());
        fake.add_app(FakeApp {
            client_id: client_id.clone(),
            client_secret: client_secret.clone(),
            redirect_uris: vec![format!("{}login/callback", tenant.issuer)],
        });
        let input = services::connections::ConnectionInput {
            name: Some(name.to_owned()),
            strategy: Some("exact".into()),
            options: Some(
                json!({ "client_id": client_id, "client_secret": client_secret, "baseUrl": fake.base_url() }),
            ),
            enabled_clients: Some(clients.iter().map(|c| c.client_id.clone()).collect()),
            ..Default::default()
        };
        services::connections::create(
            &self.pool,
            &self.state.sealer,
            tenant.tenant_id,
            &input,
            &Actor::named("test"),
        )
        .await
        .expect("create connection")
        .connection
        .connection_id
    }

    /// A machine client with a management API grant, and an access token for it.
    pub async fn management_token(&self, tenant: &TestTenant, scopes: &[&str]) -> String {
        let input = services::clients::ClientInput {
            name: Some("automation".into()),
            app_type: Some("non_interactive".into()),
            ..Default::default()
        };
        let (client, secret) =
            services::clients::create(&self.pool, tenant.tenant_id, &input, &Actor::named("test"))
                .await
                .unwrap();
        let audience = format!("{}api/v2/", tenant.issuer);
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        services::client_grants::create_grant(
            &self.pool,
            tenant.tenant_id,
            &client.client_id,
            &audience,
            &scopes,
            &Actor::named("test"),
        )
        .await
        .unwrap();
        let res = self
            .http
            .post(self.tenant_url(tenant, "/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &client.client_id),
                ("client_secret", secret.as_deref().unwrap()),
                ("audience", &audience),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "client_credentials grant");
        let token = res.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        // The grant's `seccft` is written just after the answer; waiting for it keeps it from
        // landing in the middle of a test that reads or rewrites the log.
        self.token_event_written(tenant, "client_credentials_exchanged", &client.client_id)
            .await;
        token
    }

    /// Waits until the token endpoint's event of `event_type` for `client_id` is in the log:
    /// those are written after the answer, so a test reading the log right away could miss them.
    pub async fn token_event_written(
        &self,
        tenant: &TestTenant,
        event_type: &str,
        client_id: &str,
    ) {
        for _ in 0..500 {
            let written: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM events
                    WHERE tenant_id = $1 AND type = $2 AND client_id = $3)",
            )
            .bind(tenant.tenant_id)
            .bind(event_type)
            .bind(client_id)
            .fetch_one(&self.pool)
            .await
            .unwrap();
            if written {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("no {event_type} event for {client_id} after 5 s");
    }
}

pub async fn start_fake_exact() -> FakeExactHandle {
    FakeExact::start(FakeApp {
        client_id: "unused".into(),
        client_secret: "unused".into(),
        redirect_uris: vec![],
    })
    .await
}

/// The query parameters of a redirect's `Location`.
pub fn location_params(res: &reqwest::Response) -> (String, HashMap<String, String>) {
    let location = res
        .headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_owned();
    let url = url::Url::parse(&location).expect("absolute Location");
    let params = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    (location, params)
}

/// Waits out the last half minute of a UTC day, so a test that counts events per day never sees
/// the day change between its requests and its expectations.
pub async fn clear_of_utc_midnight() {
    use chrono::Timelike;
    let until_midnight = 86_400 - chrono::Utc::now().num_seconds_from_midnight();
    if until_midnight < 30 {
        tokio::time::sleep(std::time::Duration::from_secs(
            u64::from(until_midnight) + 1,
        ))
        .await;
    }
}
