//! Fault tests: PostgreSQL stopped and restarted under load, Exact slow, down or answering
//! garbage under load, and two `gatehouse serve` nodes on one database with one killed and one
//! stopped gracefully in the middle of logins. Each scenario prints what it ran and saw.

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::collections::{BTreeMap, HashMap};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fake_exact::{Consent, FakeApp, FakeExact, FakeExactHandle, MeMode, TokenMode};
use gatehouse::config::Settings;
use gatehouse::crypto::random::token_hash;
use gatehouse::crypto::seal::{MasterKey, Sealer};
use gatehouse::embedded_pg::EmbeddedPostgres;
use gatehouse::services::{self, Actor};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

/// One scenario at a time: they load the machine and measure the process.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Longest any single request may take, even while something is down ("fail fast").
const FAIL_FAST: Duration = Duration::from_secs(8);

// ---------------------------------------------------------------------------------------------
// A browser and a recorder of every call

/// Resolves every name to loopback (so `acme.localhost:PORT` reaches the test server).
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

/// A browser for one login: keeps cookies, follows no redirect, and opens a new connection for
/// every request (so a proxy in front of several nodes routes each request anew).
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .dns_resolver(Arc::new(Loopback))
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a browser")
}

/// One HTTP call as the client saw it.
#[derive(Clone, Debug)]
struct Call {
    kind: &'static str,
    started: Instant,
    took: Duration,
    /// `None`: no HTTP answer (refused, reset or timed out).
    status: Option<u16>,
    /// `error` of a redirect to the application, or of a JSON error body.
    error: Option<String>,
}

impl Call {
    fn ended(&self) -> Instant {
        self.started + self.took
    }

    fn succeeded(&self) -> bool {
        matches!(self.status, Some(200..=299) | Some(302)) && self.error.is_none()
    }

    fn unavailable(&self) -> bool {
        self.status == Some(503) || self.error.as_deref() == Some("temporarily_unavailable")
    }
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Call>>>);

impl Recorder {
    /// Sends `request`, recording the call; JSON error bodies are read for their `error`.
    async fn send(
        &self,
        kind: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Option<(reqwest::StatusCode, Option<String>, Value)> {
        let started = Instant::now();
        let result = request.send().await;
        let (status, location, body) = match result {
            Ok(res) => {
                let status = res.status();
                let location = res
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let body = res.bytes().await.unwrap_or_default();
                (Some(status), location, body)
            }
            Err(_) => (None, None, Default::default()),
        };
        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let error = location
            .as_deref()
            .and_then(|l| query_param(l, "error"))
            .or_else(|| json.get("error").and_then(Value::as_str).map(str::to_owned))
            .or_else(|| {
                json.get("errorCode")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
        self.0.lock().unwrap().push(Call {
            kind,
            started,
            took: started.elapsed(),
            status: status.map(|s| s.as_u16()),
            error,
        });
        Some((status?, location, json))
    }

    fn calls(&self) -> Vec<Call> {
        self.0.lock().unwrap().clone()
    }
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Counts of calls by kind and outcome (`200`, `302 code`, `302 temporarily_unavailable`, …).
fn tally(calls: &[Call]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for c in calls {
        let status = c.status.map_or("no answer".to_owned(), |s| s.to_string());
        let what = match &c.error {
            Some(e) => format!("{} {status} {e}", c.kind),
            None => format!("{} {status}", c.kind),
        };
        *out.entry(what).or_insert(0) += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Logins

/// Where logins go: a tenant's issuer (through whatever node or proxy serves it), an application
/// and the fake Exact.
#[derive(Clone)]
struct Target {
    issuer: String,
    client_id: String,
    client_secret: String,
    callback: String,
    fake_base: String,
    calls: Recorder,
}

/// A login that went through `/authorize` and Exact and is about to come back.
#[derive(Clone)]
struct Started {
    browser: reqwest::Client,
    callback_url: String,
}

/// How a login ended, as the application saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Code(String),
    OAuthError(String),
    /// An answer that is not a redirect to the application (an error page, a 4xx/5xx).
    Page(&'static str, u16),
    /// No answer at all.
    NoAnswer(&'static str),
}

impl Target {
    async fn start_login(&self) -> Result<Started, Outcome> {
        let browser = browser();
        let request = browser.get(format!("{}authorize", self.issuer)).query(&[
            ("response_type", "code"),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.callback),
            ("scope", "openid profile email offline_access"),
            ("state", "app-state"),
            ("connection", "exact"),
        ]);
        let (status, location, _) = self
            .calls
            .send("authorize", request)
            .await
            .ok_or(Outcome::NoAnswer("authorize"))?;
        let Some(location) = location.filter(|_| status == 302) else {
            return Err(Outcome::Page("authorize", status.as_u16()));
        };
        if !location.starts_with(&self.fake_base) {
            return Err(self.app_outcome("authorize", &location));
        }
        let (status, location, _) = self
            .calls
            .send("exact authorize", browser.get(&location))
            .await
            .ok_or(Outcome::NoAnswer("exact authorize"))?;
        match location.filter(|_| status == 302) {
            Some(callback_url) => Ok(Started {
                browser,
                callback_url,
            }),
            None => Err(Outcome::Page("exact authorize", status.as_u16())),
        }
    }

    async fn finish_login(&self, started: &Started) -> Outcome {
        let Some((status, location, _)) = self
            .calls
            .send("callback", started.browser.get(&started.callback_url))
            .await
        else {
            return Outcome::NoAnswer("callback");
        };
        match location.filter(|_| status == 302) {
            Some(location) => self.app_outcome("callback", &location),
            None => Outcome::Page("callback", status.as_u16()),
        }
    }

    fn app_outcome(&self, step: &'static str, location: &str) -> Outcome {
        if !location.starts_with(&self.callback) {
            return Outcome::Page(step, 302);
        }
        if let Some(code) = query_param(location, "code") {
            return Outcome::Code(code);
        }
        Outcome::OAuthError(query_param(location, "error").unwrap_or_default())
    }

    async fn login(&self) -> Outcome {
        match self.start_login().await {
            Ok(started) => self.finish_login(&started).await,
            Err(outcome) => outcome,
        }
    }

    /// Redeems an authorization code; the HTTP status (0 for no answer).
    async fn redeem(&self, code: &str) -> u16 {
        let request = browser()
            .post(format!("{}oauth/token", self.issuer))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.callback),
                ("client_id", &self.client_id),
                ("client_secret", &self.client_secret),
            ]);
        match self.calls.send("redeem", request).await {
            Some((status, _, _)) => status.as_u16(),
            None => 0,
        }
    }
}

/// A tenant with a web application and an Exact connection to a fake, made through the
/// services on `pool`; the base domain decides the issuer.
struct Site {
    tenant_id: Uuid,
    target: Target,
    exact_app: FakeApp,
    fake: Option<FakeExactHandle>,
}

async fn make_site(pool: &PgPool, sealer: &Sealer, settings: &Settings) -> Site {
    let tenant = services::tenants::create(pool, sealer, settings, "acme", None, &[])
        .await
        .expect("tenant");
    let callback = format!(
        "https://app.example.com/{}/callback",
        Uuid::new_v4().simple()
    );
    let (client, secret) = services::clients::create(
        pool,
        tenant.tenant_id,
        &services::clients::ClientInput {
            name: Some("web".into()),
            app_type: Some("regular_web".into()),
            callbacks: Some(vec![callback.clone()]),
            ..Default::default()
        },
        &Actor::named("test"),
    )
    .await
    .expect("client");
    let exact_app = FakeApp {
        client_id: format!("exact-{}", Uuid::new_v4().simple()),
        client_secret: format!("secret-{}", Uuid::new_v4().simple()),
        redirect_uris: vec![],
    };
    let fake = FakeExact::start(exact_app.clone()).await;
    services::connections::create(
        pool,
        sealer,
        tenant.tenant_id,
        &services::connections::ConnectionInput {
            name: Some("exact".into()),
            strategy: Some("exact".into()),
            options: Some(json!({
                "client_id": exact_app.client_id,
                "client_secret": exact_app.client_secret,
                "baseUrl": fake.base_url(),
            })),
            enabled_clients: Some(vec![client.client_id.clone()]),
            ..Default::default()
        },
        &Actor::named("test"),
    )
    .await
    .expect("connection");
    Site {
        tenant_id: tenant.tenant_id,
        target: Target {
            issuer: format!("http://acme.{}/", settings.base_domain),
            client_id: client.client_id,
            client_secret: secret.expect("a confidential client has a secret"),
            callback,
            fake_base: fake.base_url(),
            calls: Recorder::default(),
        },
        exact_app,
        fake: Some(fake),
    }
}

fn sealer_for(master_key: &str) -> Sealer {
    Sealer::new(
        MasterKey::parse(&SecretString::from(master_key.to_owned())).expect("master key"),
        vec![],
    )
}

/// A machine client allowed `scopes` on the management API; its id and secret.
async fn machine_client(pool: &PgPool, site: &Site, scopes: &[&str]) -> (String, String) {
    let (client, secret) = services::clients::create(
        pool,
        site.tenant_id,
        &services::clients::ClientInput {
            name: Some("automation".into()),
            app_type: Some("non_interactive".into()),
            ..Default::default()
        },
        &Actor::named("test"),
    )
    .await
    .expect("machine client");
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    services::client_grants::create_grant(
        pool,
        site.tenant_id,
        &client.client_id,
        &format!("{}api/v2/", site.target.issuer),
        &scopes,
        &Actor::named("test"),
    )
    .await
    .expect("grant");
    (client.client_id, secret.expect("a secret"))
}

/// Checks what must hold in the database whatever happened: no code without its user, no
/// recorded success without its code. Returns (codes, used codes, login successes).
async fn consistent_counts(pool: &PgPool) -> (i64, i64, i64) {
    let orphan_codes: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM authorization_codes c WHERE NOT EXISTS \
         (SELECT 1 FROM users u WHERE u.tenant_id = c.tenant_id AND u.user_id = c.user_id)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(orphan_codes, 0, "codes without their user");
    let successes_without_code: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events e WHERE e.type = 'login_success' AND NOT EXISTS \
         (SELECT 1 FROM authorization_codes c WHERE c.tenant_id = e.tenant_id AND c.trace_id = e.trace_id)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        successes_without_code, 0,
        "login successes without their code"
    );
    let codes_without_success: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM authorization_codes c WHERE NOT EXISTS \
         (SELECT 1 FROM events e WHERE e.tenant_id = c.tenant_id AND e.trace_id = c.trace_id \
          AND e.type = 'login_success')",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(codes_without_success, 0, "codes without their login event");
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM authorization_codes), \
                (SELECT count(*) FROM authorization_codes WHERE used_at IS NOT NULL), \
                (SELECT count(*) FROM events WHERE type = 'login_success')",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn codes_stored(pool: &PgPool, codes: &[String]) -> usize {
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| token_hash(c)).collect();
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM authorization_codes WHERE code_hash = ANY($1)")
            .bind(&hashes)
            .fetch_one(pool)
            .await
            .unwrap();
    n as usize
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A data directory the PostgreSQL server can reach even when the tests run as root.
fn pg_data_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("gatehouse-faults-")
        .tempdir()
        .expect("temp dir");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

const PG_SETTINGS: &[(&str, &str)] = &[("fsync", "off"), ("max_connections", "100")];

async fn start_pg(dir: &Path, port: Option<u16>) -> EmbeddedPostgres {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || match port {
        Some(port) => EmbeddedPostgres::start_on_port(&dir, PG_SETTINGS, port),
        None => EmbeddedPostgres::start(&dir, PG_SETTINGS),
    })
    .await
    .unwrap()
    .expect("start PostgreSQL")
}

/// Resident memory (KiB) and threads of this process, where the in-process app runs.
fn process_status() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in /proc/self/status"))
    };
    (field("VmRSS:"), field("Threads:"))
}

/// Waits until `condition` holds, checking every 50 ms for at most `patience`.
async fn eventually<F, Fut>(patience: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + patience;
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn open_transactions(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM login_transactions")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Refresh-token families, each issued by one successful code redemption.
async fn refresh_families(pool: &PgPool) -> i64 {
    let orphans: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM refresh_tokens r WHERE NOT EXISTS \
         (SELECT 1 FROM authorization_codes c WHERE c.tenant_id = r.tenant_id \
          AND c.family_id = r.family_id AND c.used_at IS NOT NULL)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        orphans, 0,
        "refresh tokens without the redemption that issued them"
    );
    sqlx::query_scalar("SELECT count(DISTINCT family_id) FROM refresh_tokens")
        .fetch_one(pool)
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL stopped and restarted under load

/// An application creation through the management API: its name and the answer's status.
type Write = (String, Option<u16>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_under_load_fails_fast_recovers_by_itself_and_loses_nothing_committed() {
    let _serial = SERIAL.lock().await;
    let dir = pg_data_dir();
    let pg = start_pg(dir.path(), None).await;
    let pg_port = pg.port();
    let mut created = false;
    for _ in 0..100 {
        if pg.ensure_database("gatehouse").await.is_ok() {
            created = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(created, "the private PostgreSQL never accepted a database");
    let url = pg.url("gatehouse").expose_secret().to_owned();
    let setup = gatehouse::db::connect(&SecretString::from(url.clone()), 2)
        .await
        .unwrap();
    gatehouse::db::migrate(&setup).await.unwrap();
    setup.close().await;
    let app = helpers::spawn_app_on(url.clone(), MasterKey::generate_text()).await;
    let site = make_site(&app.pool, &app.state.sealer, &app.state.settings).await;
    let (machine_id, machine_secret) =
        machine_client(&app.pool, &site, &["create:clients", "read:clients"]).await;
    let t = site.target.clone();
    let audience = format!("{}api/v2/", t.issuer);
    let grant = [
        ("grant_type", "client_credentials"),
        ("client_id", machine_id.as_str()),
        ("client_secret", machine_secret.as_str()),
        ("audience", audience.as_str()),
    ];
    let token: Value = browser()
        .post(format!("{}oauth/token", t.issuer))
        .form(&grant)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let management_token = token["access_token"].as_str().expect("a token").to_owned();

    // The load: two browsers logging in (and redeeming their codes), one machine client asking
    // for tokens, one script creating applications.
    let stop = Arc::new(AtomicBool::new(false));
    let codes: Arc<Mutex<Vec<String>>> = Arc::default();
    let redeemed = Arc::new(AtomicUsize::new(0));
    let writes: Arc<Mutex<Vec<Write>>> = Arc::default();
    let mut workers = Vec::new();
    for _ in 0..2 {
        let (t, stop, codes, redeemed) = (t.clone(), stop.clone(), codes.clone(), redeemed.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                if let Outcome::Code(code) = t.login().await {
                    codes.lock().unwrap().push(code.clone());
                    if t.redeem(&code).await == 200 {
                        redeemed.fetch_add(1, Ordering::SeqCst);
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }));
    }
    {
        let (t, stop) = (t.clone(), stop.clone());
        let form: Vec<(String, String)> = grant
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let request = browser()
                    .post(format!("{}oauth/token", t.issuer))
                    .form(&form);
                t.calls.send("client_credentials", request).await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }));
    }
    {
        let (t, stop, writes) = (t.clone(), stop.clone(), writes.clone());
        let token = management_token.clone();
        workers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let name = format!("load-{n}");
                let request = browser()
                    .post(format!("{}api/v2/clients", t.issuer))
                    .bearer_auth(&token)
                    .json(&json!({"name": name, "app_type": "non_interactive"}));
                let status = t
                    .calls
                    .send("management write", request)
                    .await
                    .map(|(s, _, _)| s.as_u16());
                writes.lock().unwrap().push((name, status));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }));
    }
    let readyz = |t: Target| async move {
        t.calls
            .send("readyz", browser().get(format!("{}readyz", t.issuer)))
            .await
            .map(|(s, _, _)| s.as_u16())
    };

    tokio::time::sleep(Duration::from_secs(3)).await;
    let down_at = Instant::now();
    tokio::task::spawn_blocking(move || drop(pg)).await.unwrap();
    let stopped_at = Instant::now();
    let mut readyz_while_down = Vec::new();
    while stopped_at.elapsed() < Duration::from_secs(6) {
        readyz_while_down.push(readyz(t.clone()).await);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let restart_at = Instant::now();
    let pg = start_pg(dir.path(), Some(pg_port)).await;
    let mut ready_at = None;
    while restart_at.elapsed() < Duration::from_secs(30) {
        if readyz(t.clone()).await == Some(200) {
            ready_at = Some(Instant::now());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready_at = ready_at.expect("Gatehouse became ready again without a restart");
    let mut first_login_after = None;
    let trial = Instant::now();
    while trial.elapsed() < Duration::from_secs(15) {
        if let Outcome::Code(code) = t.login().await {
            codes.lock().unwrap().push(code.clone());
            if t.redeem(&code).await == 200 {
                redeemed.fetch_add(1, Ordering::SeqCst);
            }
            first_login_after = Some(restart_at.elapsed());
            break;
        }
    }
    let first_login_after = first_login_after.expect("a login succeeds after the restart");
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        tokio::time::timeout(Duration::from_secs(30), w)
            .await
            .expect("load workers stop")
            .unwrap();
    }

    let calls = t.calls.calls();
    let gatehouse_calls: Vec<&Call> = calls
        .iter()
        .filter(|c| c.kind != "exact authorize")
        .collect();
    println!(
        "postgres restart: {} calls ({:?}); down for {:?}, ready {:?} after the restart, \
         first login {:?} after the restart; readyz while down: {:?}",
        calls.len(),
        tally(&calls),
        restart_at - down_at,
        ready_at - restart_at,
        first_login_after,
        readyz_while_down
    );
    // Never a hang, a dropped connection or an internal error.
    for c in &gatehouse_calls {
        assert!(c.took <= FAIL_FAST, "{c:?} took too long");
        assert!(c.status.is_some(), "{c:?} got no answer");
        assert!(
            !matches!(c.status, Some(500..=502) | Some(504..=599)),
            "{c:?} is an internal error"
        );
    }
    // Before: all well.
    let before: Vec<Call> = gatehouse_calls
        .iter()
        .filter(|c| c.ended() < down_at)
        .map(|c| (*c).clone())
        .collect();
    assert!(before.len() >= 10, "too little load before the outage");
    assert!(before.iter().all(Call::succeeded), "{:?}", tally(&before));
    // While down: a quick 503 or temporarily_unavailable (or an answer from the cache).
    let during: Vec<&&Call> = gatehouse_calls
        .iter()
        .filter(|c| c.started >= stopped_at && c.ended() <= restart_at)
        .collect();
    for c in &during {
        assert!(
            c.unavailable() || c.succeeded(),
            "{c:?} while the database was down"
        );
    }
    let unavailable = during.iter().filter(|c| c.unavailable()).count();
    let slowest = during.iter().map(|c| c.took).max().unwrap_or_default();
    assert!(unavailable >= 5, "only {unavailable} calls saw the outage");
    assert!(
        readyz_while_down.iter().all(|s| *s == Some(503)),
        "{readyz_while_down:?}"
    );
    // After: all well again, without restarting Gatehouse.
    let after: Vec<&&Call> = gatehouse_calls
        .iter()
        .filter(|c| c.started >= ready_at + Duration::from_secs(2))
        .collect();
    assert!(after.len() >= 10, "too little load after the restart");
    for c in &after {
        assert!(c.succeeded(), "{c:?} after recovery");
    }

    // Every committed change is there, and nothing was written half-way.
    let check = gatehouse::db::connect(&SecretString::from(url.clone()), 2)
        .await
        .unwrap();
    let codes = codes.lock().unwrap().clone();
    let (stored, used, successes) = consistent_counts(&check).await;
    assert_eq!(
        codes_stored(&check, &codes).await,
        codes.len(),
        "codes the application got are stored"
    );
    assert_eq!(
        stored as usize,
        codes.len(),
        "no code was stored that the application did not get"
    );
    assert_eq!(successes, stored);
    let redeemed = redeemed.load(Ordering::SeqCst);
    assert_eq!(
        refresh_families(&check).await as usize,
        redeemed,
        "one refresh token family per redemption"
    );
    let failed_redemptions = calls
        .iter()
        .filter(|c| c.kind == "redeem" && !c.succeeded())
        .count();
    assert!(
        (used as usize) >= redeemed && (used as usize) <= redeemed + failed_redemptions,
        "{used} codes used, {redeemed} redeemed, {failed_redemptions} redemptions failed"
    );
    let writes = writes.lock().unwrap().clone();
    let created: Vec<String> = writes
        .iter()
        .filter(|(_, s)| *s == Some(201))
        .map(|(n, _)| n.clone())
        .collect();
    let mut in_db: Vec<String> =
        sqlx::query_scalar("SELECT name FROM clients WHERE tenant_id = $1 AND name LIKE 'load-%'")
            .bind(site.tenant_id)
            .fetch_all(&check)
            .await
            .unwrap();
    in_db.sort();
    let mut expected = created.clone();
    expected.sort();
    assert_eq!(
        in_db, expected,
        "exactly the applications whose creation was answered 201"
    );
    // Every token granted is in the log, or (granted from the cache while the database was
    // down) counted as an event dropped: none is lost without a trace.
    let deferred = &app.state.deferred_events;
    eventually(Duration::from_secs(10), "no token event waits", || async {
        deferred.waiting() == 0
    })
    .await;
    let granted = 1 + calls
        .iter()
        .filter(|c| c.kind == "client_credentials" && c.succeeded())
        .count();
    let logged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE tenant_id = $1 AND type = 'client_credentials_exchanged'",
    )
    .bind(site.tenant_id)
    .fetch_one(&check)
    .await
    .unwrap();
    // (A write whose commit was answered as the database stopped may be both.)
    let (logged, dropped, granted) = (logged as u64, deferred.dropped(), granted as u64);
    assert!(
        logged <= granted && logged + dropped >= granted,
        "{granted} grants, {logged} logged, {dropped} dropped"
    );
    println!(
        "postgres restart: {} logins with a code ({redeemed} redeemed, {used} codes used), \
         {} of {} application creations answered 201, {} calls saw the outage (slowest \
         answer while down {:?}); {granted} tokens granted ({logged} logged, {dropped} events \
         dropped while down); nothing lost",
        codes.len(),
        created.len(),
        writes.len(),
        unavailable,
        slowest
    );
    check.close().await;
    app.pool.close().await;
    tokio::task::spawn_blocking(move || drop(pg)).await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Exact slow, down, answering garbage

/// `n` logins at once, each in its own browser; their outcomes and callback durations.
async fn concurrent_logins(t: &Target, n: usize) -> Vec<Outcome> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let t = t.clone();
        set.spawn(async move { t.login().await });
    }
    set.join_all().await
}

/// A way Exact misbehaves: its name, the switch, how many logins meet it, the OAuth errors the
/// application may get.
type Phase = (
    &'static str,
    fn(&FakeExactHandle),
    usize,
    &'static [&'static str],
);

fn count(outcomes: &[Outcome]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for o in outcomes {
        let key = match o {
            Outcome::Code(_) => "code".to_owned(),
            Outcome::OAuthError(e) => e.clone(),
            other => format!("{other:?}"),
        };
        *out.entry(key).or_insert(0) += 1;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_slow_down_or_garbling_under_load_ends_each_login_in_an_oauth_error_and_logins_recover(
) {
    let _serial = SERIAL.lock().await;
    const LOAD: usize = 50;
    let app = helpers::spawn_app().await;
    let mut site = make_site(&app.pool, &app.state.sealer, &app.state.settings).await;
    let t = site.target.clone();
    for o in concurrent_logins(&t, 5).await {
        assert!(matches!(o, Outcome::Code(_)), "warm-up login: {o:?}");
    }
    let (rss_before, threads_before) = process_status();
    let fake = site.fake.take().expect("the fake");
    let mut report = Vec::new();
    let mut failed_logins = 0;

    // Slow beyond the 2 s upstream timeout, at the token and at the profile step.
    let phases: [Phase; 6] = [
        (
            "token slow (4 s)",
            |f: &FakeExactHandle| f.set_token_mode(TokenMode::Slow(Duration::from_secs(4))),
            LOAD,
            &["temporarily_unavailable"],
        ),
        (
            "profile slow (4 s)",
            |f: &FakeExactHandle| f.set_me_mode(MeMode::Slow(Duration::from_secs(4))),
            LOAD / 2,
            &["temporarily_unavailable"],
        ),
        (
            "token garbage JSON",
            |f: &FakeExactHandle| f.set_token_mode(TokenMode::GarbageJson),
            LOAD / 2,
            &["server_error"],
        ),
        (
            "token HTML page",
            |f: &FakeExactHandle| f.set_token_mode(TokenMode::Html),
            LOAD / 4,
            &["server_error"],
        ),
        (
            "token HTTP 500",
            |f: &FakeExactHandle| f.set_token_mode(TokenMode::Status500),
            LOAD / 4,
            &["server_error"],
        ),
        (
            "profile garbage",
            |f: &FakeExactHandle| f.set_me_mode(MeMode::Garbage),
            LOAD / 2,
            &["server_error"],
        ),
    ];
    for (name, set_mode, n, expected) in phases {
        set_mode(&fake);
        let started = Instant::now();
        let outcomes = concurrent_logins(&t, n).await;
        let took = started.elapsed();
        fake.set_token_mode(TokenMode::Ok);
        fake.set_me_mode(MeMode::Ok);
        for o in &outcomes {
            assert!(
                matches!(o, Outcome::OAuthError(e) if expected.contains(&e.as_str())),
                "{name}: {o:?}"
            );
        }
        assert!(
            took < Duration::from_secs(20),
            "{name}: {n} logins took {took:?}"
        );
        failed_logins += outcomes.len();
        report.push(format!(
            "{name}: {n} logins in {took:?} -> {:?}",
            count(&outcomes)
        ));
    }

    // Down: browsers come back from Exact and find it gone.
    let mut started = Vec::new();
    for _ in 0..LOAD {
        started.push(t.start_login().await.expect("a login reaches Exact"));
    }
    let exact_addr: SocketAddr = fake
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let codes_sent: Vec<String> = fake
        .token_requests()
        .iter()
        .filter_map(|r| r.form.get("code").cloned())
        .collect();
    fake.stop().await;
    let down_started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for s in started {
        let t = t.clone();
        set.spawn(async move { t.finish_login(&s).await });
    }
    let down = set.join_all().await;
    let down_took = down_started.elapsed();
    for o in &down {
        assert!(
            matches!(o, Outcome::OAuthError(e) if e == "temporarily_unavailable" || e == "server_error"),
            "Exact down: {o:?}"
        );
    }
    failed_logins += down.len();
    report.push(format!(
        "Exact down: {LOAD} callbacks in {down_took:?} -> {:?}",
        count(&down)
    ));

    // Exact back on the same address: logins work again at once.
    let fake = FakeExact::bind(exact_addr, site.exact_app.clone(), Consent::Auto)
        .await
        .expect("the fake Exact binds its old address again");
    let recovered = concurrent_logins(&t, 10).await;
    for o in &recovered {
        let Outcome::Code(code) = o else {
            panic!("after recovery: {o:?}")
        };
        assert_eq!(t.redeem(code).await, 200);
    }
    report.push(format!("recovered: 10 logins -> {:?}", count(&recovered)));
    let (rss_after, threads_after) = process_status();
    report.push(format!(
        "process: VmRSS {rss_before} -> {rss_after} KiB, threads {threads_before} -> {threads_after}"
    ));
    println!("upstream faults:\n  {}", report.join("\n  "));

    // Bounded: no growth with the number of failed logins.
    assert!(
        rss_after < rss_before + 200 * 1024,
        "VmRSS grew from {rss_before} to {rss_after} KiB"
    );
    assert!(
        threads_after <= threads_before + 16,
        "threads grew from {threads_before} to {threads_after}"
    );
    // Each upstream code was sent at most once (never retried).
    let mut unique = codes_sent.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        codes_sent.len(),
        "an Exact code was exchanged twice"
    );
    // Each failed login is recorded once, with the upstream's answer and no token in it.
    let failures: Vec<Value> = sqlx::query_scalar(
        "SELECT details FROM events WHERE tenant_id = $1 AND type = 'login_failure'",
    )
    .bind(site.tenant_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        failures.len(),
        failed_logins,
        "one failure event per failed login"
    );
    for details in &failures {
        let text = details.to_string();
        assert!(
            !text.contains("unterminated"),
            "a token from a garbage answer was kept: {text}"
        );
        assert!(details["failed_step"].is_string(), "{text}");
    }
    consistent_counts(&app.pool).await;
    fake.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Two nodes on one database

/// A tiny TCP load balancer on the base domain's port: each connection goes to the preferred
/// node, or to the next one that accepts if that one is down.
struct Proxy {
    port: u16,
    backends: Arc<Mutex<Vec<SocketAddr>>>,
    preferred: Arc<AtomicUsize>,
    served: Arc<Mutex<HashMap<SocketAddr, usize>>>,
}

impl Proxy {
    async fn start() -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            port: listener.local_addr().unwrap().port(),
            backends: Arc::default(),
            preferred: Arc::default(),
            served: Arc::default(),
        };
        let (backends, preferred, served) = (
            proxy.backends.clone(),
            proxy.preferred.clone(),
            proxy.served.clone(),
        );
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let (backends, preferred, served) =
                    (backends.clone(), preferred.clone(), served.clone());
                tokio::spawn(async move {
                    let list = backends.lock().unwrap().clone();
                    let first = preferred.load(Ordering::SeqCst);
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

    fn route_to(&self, backends: &[SocketAddr], preferred: usize) {
        *self.backends.lock().unwrap() = backends.to_vec();
        self.preferred.store(preferred, Ordering::SeqCst);
    }

    fn served(&self, addr: SocketAddr) -> usize {
        self.served.lock().unwrap().get(&addr).copied().unwrap_or(0)
    }
}

/// A `gatehouse serve` child process.
struct Node {
    child: tokio::process::Child,
    addr: SocketAddr,
    log: std::path::PathBuf,
}

impl Node {
    async fn spawn(
        name: &str,
        database_url: &str,
        master_key: &str,
        base_port: u16,
        dir: &Path,
    ) -> Node {
        Node::spawn_logging(name, database_url, master_key, base_port, dir, "warn").await
    }

    async fn spawn_logging(
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

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.child.id().expect("a running node") as i32)
    }
}

/// What the tests with `gatehouse serve` nodes start from: a fresh database, a proxy where
/// the nodes will sit, the site (tenant, application, fake Exact) and a directory for logs.
struct NodesSite {
    database_url: String,
    master_key: String,
    proxy: Proxy,
    pool: PgPool,
    fake: FakeExactHandle,
    t: Target,
    dir: tempfile::TempDir,
}

impl NodesSite {
    async fn start() -> NodesSite {
        let database_url = helpers::fresh_database().await;
        let master_key = MasterKey::generate_text();
        let proxy = Proxy::start().await;
        let pool = gatehouse::db::connect(&SecretString::from(database_url.clone()), 4)
            .await
            .unwrap();
        let settings = helpers::test_settings(proxy.port, &database_url, &master_key);
        let mut site = make_site(&pool, &sealer_for(&master_key), &settings).await;
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

/// Regression: the callback once held an entered span across `.await`s, so the next request
/// polled on that worker thread logged inside it, nesting other requests' spans ever deeper
/// (94 KB log lines at 32 concurrent logins). Interleaved callbacks each log within their own
/// request only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callbacks_each_log_within_their_own_request() {
    let _serial = SERIAL.lock().await;
    let NodesSite {
        database_url,
        master_key,
        proxy,
        pool,
        fake,
        t,
        dir,
    } = NodesSite::start().await;
    let node = Node::spawn_logging(
        "a",
        &database_url,
        &master_key,
        proxy.port,
        dir.path(),
        "info",
    )
    .await;
    proxy.route_to(&[node.addr], 0);
    let mut begun = Vec::new();
    for _ in 0..8 {
        begun.push(t.start_login().await.expect("authorize"));
    }
    // A slow token exchange keeps every callback waiting at the same time.
    fake.set_token_mode(TokenMode::Slow(Duration::from_millis(300)));
    let mut done = finish_in_background(&t, begun);
    while let Some(outcome) = done.join_next().await {
        assert!(
            matches!(outcome.unwrap(), Outcome::Code(_)),
            "{}",
            node.log_text()
        );
    }
    let log = node.log_text();
    let completed: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("login completed"))
        .collect();
    assert_eq!(completed.len(), 8, "{log}");
    for line in completed {
        assert_eq!(line.matches("request{").count(), 1, "{line}");
        assert!(line.contains("connection="), "{line}");
    }
    pool.close().await;
}

/// Starts `logins` callbacks at once in the background.
fn finish_in_background(t: &Target, logins: Vec<Started>) -> tokio::task::JoinSet<Outcome> {
    let mut set = tokio::task::JoinSet::new();
    for s in logins {
        let t = t.clone();
        set.spawn(async move { t.finish_login(&s).await });
    }
    set
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_moves_between_nodes_survives_a_killed_node_and_completes_during_a_graceful_stop() {
    let _serial = SERIAL.lock().await;
    let NodesSite {
        database_url,
        master_key,
        proxy,
        pool,
        fake,
        t,
        dir,
    } = NodesSite::start().await;
    let (mut a, b) = tokio::join!(
        Node::spawn("a", &database_url, &master_key, proxy.port, dir.path()),
        Node::spawn("b", &database_url, &master_key, proxy.port, dir.path()),
    );
    let mut b = b;
    let nodes = [a.addr, b.addr];
    let mut codes: Vec<String> = Vec::new();

    // 1. Begun on A, finished on B.
    proxy.route_to(&nodes, 0);
    let started = t.start_login().await.expect("authorize on A");
    assert_eq!(proxy.served(a.addr), 1);
    proxy.route_to(&nodes, 1);
    let Outcome::Code(code) = t.finish_login(&started).await else {
        panic!("the callback on B: {}", b.log_text())
    };
    assert_eq!(t.redeem(&code).await, 200, "the code is redeemed on B");
    assert_eq!((proxy.served(a.addr), proxy.served(b.addr)), (1, 2));
    codes.push(code);

    // 2. A killed with logins in flight.
    proxy.route_to(&nodes, 0);
    let mut begun = Vec::new();
    for _ in 0..20 {
        begun.push(t.start_login().await.expect("authorize on A"));
    }
    let cut_off: Vec<Started> = begun.drain(..8).collect();
    fake.set_token_mode(TokenMode::Slow(Duration::from_secs(3)));
    let open = open_transactions(&pool).await;
    let in_flight = finish_in_background(&t, cut_off.clone());
    eventually(
        Duration::from_secs(10),
        "A to take the 8 transactions",
        || async { open_transactions(&pool).await == open - 8 },
    )
    .await;
    a.child.start_kill().expect("SIGKILL node A");
    a.child.wait().await.unwrap();
    fake.set_token_mode(TokenMode::Ok);
    let killed = in_flight.join_all().await;
    assert!(
        killed.iter().all(|o| *o == Outcome::NoAnswer("callback")),
        "callbacks in flight on the killed node: {killed:?}"
    );
    // The 12 begun on A come back through the balancer, which now reaches only B.
    let moved = finish_in_background(&t, begun).join_all().await;
    for o in &moved {
        let Outcome::Code(code) = o else {
            panic!("a login begun on A, finished on B: {o:?}")
        };
        assert_eq!(t.redeem(code).await, 200);
        codes.push(code.clone());
    }
    // The 8 cut off: their transaction was used up on A, so retrying the callback is refused
    // (single use) and a new login succeeds on B.
    for s in &cut_off {
        assert_eq!(t.finish_login(s).await, Outcome::Page("callback", 400));
        let Outcome::Code(code) = t.login().await else {
            panic!("a new login after the cut-off one")
        };
        assert_eq!(t.redeem(&code).await, 200);
        codes.push(code);
    }

    // 3. SIGTERM on B with logins in flight: they finish.
    let mut begun = Vec::new();
    for _ in 0..6 {
        begun.push(t.start_login().await.expect("authorize on B"));
    }
    fake.set_token_mode(TokenMode::Slow(Duration::from_secs(2)));
    let open = open_transactions(&pool).await;
    let in_flight = finish_in_background(&t, begun);
    eventually(
        Duration::from_secs(10),
        "B to take the 6 transactions",
        || async { open_transactions(&pool).await == open - 6 },
    )
    .await;
    let term_at = Instant::now();
    nix::sys::signal::kill(b.pid(), nix::sys::signal::Signal::SIGTERM).unwrap();
    let graceful = in_flight.join_all().await;
    let exit = tokio::time::timeout(Duration::from_secs(30), b.child.wait())
        .await
        .expect("B exits after SIGTERM")
        .unwrap();
    let stopped_after = term_at.elapsed();
    fake.set_token_mode(TokenMode::Ok);
    assert!(exit.success(), "B exited with {exit}: {}", b.log_text());
    let graceful_codes: Vec<String> = graceful
        .iter()
        .map(|o| match o {
            Outcome::Code(code) => code.clone(),
            other => panic!("a login in flight during SIGTERM: {other:?}"),
        })
        .collect();
    // The codes B issued while stopping are stored: a new node redeems them.
    let c = Node::spawn("c", &database_url, &master_key, proxy.port, dir.path()).await;
    proxy.route_to(&[c.addr], 0);
    for code in &graceful_codes {
        assert_eq!(t.redeem(code).await, 200, "{}", c.log_text());
    }
    codes.extend(graceful_codes);

    // Nothing half-written: every code the applications got, and no other.
    let (stored, used, successes) = consistent_counts(&pool).await;
    assert_eq!(codes_stored(&pool, &codes).await, codes.len());
    assert_eq!(
        stored as usize,
        codes.len(),
        "codes stored that no application got"
    );
    assert_eq!((used, successes), (stored, stored));
    assert_eq!(refresh_families(&pool).await, stored);
    println!(
        "two nodes: 1 login A->B; 20 begun on A, A killed with 8 callbacks in flight: 12 finished \
         on B, 8 cut off (retry refused, new login succeeded); 6 in flight at SIGTERM on B all \
         finished, B exited {exit} {stopped_after:?} after SIGTERM; {} codes issued, all \
         redeemed; calls: {:?}",
        codes.len(),
        tally(&t.calls.calls())
    );
    drop(c);
    fake.stop().await;
    pool.close().await;
}
