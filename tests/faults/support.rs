//! What the fault scenarios share: browsers that record every call, logins driven step by step
//! against a site (a tenant, a web application and an Exact connection to a fake), and the
//! checks of what must hold in the database whatever happened.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fake_exact::{FakeApp, FakeExactHandle};
use gatehouse::crypto::random::token_hash;
use gatehouse::embedded_pg::EmbeddedPostgres;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{self, Fixtures, TestTenant};

/// One scenario at a time: they load the machine and measure the process.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---------------------------------------------------------------------------------------------
// A browser and a recorder of every call

/// A browser for one login: keeps cookies, follows no redirect, and opens a new connection for
/// every request (so a proxy in front of several nodes routes each request anew).
pub fn browser() -> reqwest::Client {
    helpers::browser_builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a browser")
}

/// One HTTP call as the client saw it.
#[derive(Clone, Debug)]
pub struct Call {
    pub kind: &'static str,
    pub started: Instant,
    pub took: Duration,
    /// `None`: no HTTP answer (refused, reset or timed out).
    pub status: Option<u16>,
    /// `error` of a redirect to the application, or of a JSON error body.
    pub error: Option<String>,
}

impl Call {
    pub fn ended(&self) -> Instant {
        self.started + self.took
    }

    pub fn succeeded(&self) -> bool {
        matches!(self.status, Some(200..=299) | Some(302)) && self.error.is_none()
    }

    pub fn unavailable(&self) -> bool {
        self.status == Some(503) || self.error.as_deref() == Some("temporarily_unavailable")
    }
}

#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Call>>>);

impl Recorder {
    /// Sends `request`, recording the call; JSON error bodies are read for their `error`.
    pub async fn send(
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

    pub fn calls(&self) -> Vec<Call> {
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
pub fn tally(calls: &[Call]) -> BTreeMap<String, usize> {
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
pub struct Target {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub callback: String,
    pub fake_base: String,
    pub calls: Recorder,
}

/// A login that went through `/authorize` and Exact and is about to come back.
#[derive(Clone)]
pub struct Started {
    browser: reqwest::Client,
    callback_url: String,
}

/// How a login ended, as the application saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Code(String),
    OAuthError(String),
    /// An answer that is not a redirect to the application (an error page, a 4xx/5xx).
    Page(&'static str, u16),
    /// No answer at all.
    NoAnswer(&'static str),
}

impl Target {
    pub async fn start_login(&self) -> Result<Started, Outcome> {
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

    pub async fn finish_login(&self, started: &Started) -> Outcome {
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

    pub async fn login(&self) -> Outcome {
        match self.start_login().await {
            Ok(started) => self.finish_login(&started).await,
            Err(outcome) => outcome,
        }
    }

    /// Redeems an authorization code; the HTTP status (0 for no answer).
    pub async fn redeem(&self, code: &str) -> u16 {
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
/// services; the base domain decides the issuer.
pub struct Site {
    pub tenant: TestTenant,
    pub target: Target,
    /// The connection's application at the fake Exact (to start the fake again).
    pub exact_app: FakeApp,
    pub fake: Option<FakeExactHandle>,
}

pub async fn make_site(fixtures: Fixtures<'_>) -> Site {
    let tenant = fixtures.create_tenant("acme").await;
    let web = fixtures.create_client(&tenant, "regular_web").await;
    let fake = helpers::start_fake_exact().await;
    let connection = fixtures
        .create_exact_connection(&tenant, "exact", &fake, &[&web])
        .await;
    Site {
        target: Target {
            issuer: tenant.issuer.clone(),
            client_id: web.client_id,
            client_secret: web
                .client_secret
                .expect("a confidential client has a secret"),
            callback: web.callback,
            fake_base: fake.base_url(),
            calls: Recorder::default(),
        },
        tenant,
        exact_app: connection.upstream,
        fake: Some(fake),
    }
}

// ---------------------------------------------------------------------------------------------
// The database afterwards

/// Checks what must hold in the database whatever happened: no code without its user, no
/// recorded success without its code. Returns (codes, used codes, login successes).
pub async fn consistent_counts(pool: &PgPool) -> (i64, i64, i64) {
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

pub async fn codes_stored(pool: &PgPool, codes: &[String]) -> usize {
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| token_hash(c)).collect();
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM authorization_codes WHERE code_hash = ANY($1)")
            .bind(&hashes)
            .fetch_one(pool)
            .await
            .unwrap();
    n as usize
}

/// Waits until `condition` holds, checking every 50 ms for at most `patience`.
pub async fn eventually<F, Fut>(patience: Duration, what: &str, mut condition: F)
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

/// Refresh-token families, each issued by one successful code redemption.
pub async fn refresh_families(pool: &PgPool) -> i64 {
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

/// A data directory the PostgreSQL server can reach even when the tests run as root.
pub fn pg_data_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("gatehouse-faults-")
        .tempdir()
        .expect("temp dir");
    helpers::open_to_postgres(dir.path());
    dir
}

const PG_SETTINGS: &[(&str, &str)] = &[("fsync", "off"), ("max_connections", "100")];

pub async fn start_pg(dir: &Path, port: Option<u16>) -> EmbeddedPostgres {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || match port {
        Some(port) => EmbeddedPostgres::start_on_port(&dir, PG_SETTINGS, port),
        None => EmbeddedPostgres::start(&dir, PG_SETTINGS),
    })
    .await
    .unwrap()
    .expect("start PostgreSQL")
}

/// A private PostgreSQL in `dir` with the `gatehouse` database migrated; its URL.
pub async fn migrated_pg(dir: &Path) -> (EmbeddedPostgres, String) {
    let pg = start_pg(dir, None).await;
    eventually(Duration::from_secs(10), "a database", || async {
        pg.ensure_database("gatehouse").await.is_ok()
    })
    .await;
    let url = secrecy::ExposeSecret::expose_secret(&pg.url("gatehouse")).to_owned();
    let setup = gatehouse::db::connect(&secrecy::SecretString::from(url.clone()), 2)
        .await
        .unwrap();
    gatehouse::db::migrate(&setup).await.unwrap();
    setup.close().await;
    (pg, url)
}
