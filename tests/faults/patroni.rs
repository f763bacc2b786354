//! A real Patroni cluster (`deploy/patroni/`: etcd, two PostgreSQL members in synchronous
//! mode, HAProxy on Patroni's `/primary` check) under two `gatehouse serve` nodes, with logins,
//! refreshes and management writes running through a `kill -9` of the primary's postmaster and
//! then a planned switchover. Pass: no 500; no login step refused for the database (the
//! retries absorb both events); every acknowledged write kept; no code redeemed twice and no
//! login lost to a lost answer; cross-node cache invalidation working after each event; every
//! login's events written. Prints the added latency of the requests in flight.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gatehouse::crypto::seal::MasterKey;
use secrecy::SecretString;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{self, Fixtures};
use crate::nodes::{Node, Proxy};
use crate::support::SERIAL;
use crate::support::{browser, eventually, make_site, pg_data_dir, tally, Call, Outcome, Target};

/// The recipe's script, which installs the Debian packages it needs when run as root.
const CLUSTER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/patroni/cluster");

/// The cluster, stopped when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    env: HashMap<String, String>,
}

impl Cluster {
    fn up() -> Cluster {
        let dir = pg_data_dir();
        run(&["up", &dir.path().display().to_string()]);
        let text = std::fs::read_to_string(dir.path().join("cluster.env")).expect("cluster.env");
        let env = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| {
                (
                    k.to_owned(),
                    v.trim_matches('"').trim_matches('\'').to_owned(),
                )
            })
            .collect();
        Cluster { dir, env }
    }

    fn path(&self) -> String {
        self.dir.path().display().to_string()
    }

    /// Runs a verb of the script on this cluster (off the runtime's threads).
    async fn run(&self, verb: &'static str) -> String {
        let dir = self.path();
        tokio::task::spawn_blocking(move || run(&[verb, &dir]))
            .await
            .unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new(CLUSTER)
            .args(["down", &self.path()])
            .output();
    }
}

fn run(args: &[&str]) -> String {
    // Bounded waits, generous for a machine busy with the rest of the test run.
    let out = std::process::Command::new(CLUSTER)
        .args(args)
        .env("CLUSTER_WAIT_SECONDS", "240")
        .output()
        .expect("run deploy/patroni/cluster");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "cluster {args:?} failed: {}\n{stderr}",
        out.status
    );
    eprintln!("{}", stderr.trim_end());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What one login worker saw: codes issued, and codes whose redemption answered 200.
#[derive(Default)]
struct Logins {
    codes: Vec<String>,
    redeemed: Vec<String>,
    refreshed: usize,
}

/// A management write: the application's name, whether it carried an `Idempotency-Key`,
/// and the answer's status.
type Write = (String, bool, Option<u16>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_and_writes_ride_through_a_killed_primary_and_a_switchover() {
    let _serial = SERIAL.lock().await;
    let cluster = Cluster::up();
    let url = cluster.env["DATABASE_URL"].clone();
    let pool = gatehouse::db::connect(&SecretString::from(url.clone()), 4)
        .await
        .unwrap();
    gatehouse::db::migrate(&pool).await.unwrap();

    let key = MasterKey::generate_text();
    let proxy = Proxy::start().await;
    let settings = helpers::test_settings(proxy.port, &url, &key);
    let mut site = make_site(Fixtures {
        pool: &pool,
        sealer: &helpers::sealer_for(&key),
        settings: &settings,
    })
    .await;
    let _fake = site.fake.take();
    let (machine_id, machine_secret) = Fixtures {
        pool: &pool,
        sealer: &helpers::sealer_for(&key),
        settings: &settings,
    }
    .machine_client(&site.tenant, &["create:clients", "update:clients"])
    .await;
    let logs = tempfile::tempdir().unwrap();
    let a = Node::spawn("a", &url, &key, proxy.port, logs.path()).await;
    let b = Node::spawn("b", &url, &key, proxy.port, logs.path()).await;
    proxy.spread_over(&[a.addr, b.addr]);
    let t = site.target.clone();
    let token = management_token(&t, &site.tenant, &machine_id, &machine_secret).await;

    // The load: three browsers logging in, redeeming and refreshing; one script creating
    // applications, every other one with an Idempotency-Key.
    let stop = Arc::new(AtomicBool::new(false));
    let logins: Arc<Mutex<Logins>> = Arc::default();
    let writes: Arc<Mutex<Vec<Write>>> = Arc::default();
    let mut workers = Vec::new();
    for _ in 0..3 {
        let (t, stop, logins) = (t.clone(), stop.clone(), logins.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                login_redeem_refresh(&t, &logins).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    {
        let (t, stop, writes, token) = (t.clone(), stop.clone(), writes.clone(), token.clone());
        workers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let name = format!("ha-{n}");
                let keyed = n % 2 == 0;
                let mut request = browser()
                    .post(format!("{}api/v2/clients", t.issuer))
                    .bearer_auth(&token)
                    .json(&json!({"name": name, "app_type": "non_interactive"}));
                if keyed {
                    request = request.header("Idempotency-Key", format!("create-{name}"));
                }
                let kind = if keyed {
                    "management write (keyed)"
                } else {
                    "management write"
                };
                let status = t
                    .calls
                    .send(kind, request)
                    .await
                    .map(|(s, _, _)| s.as_u16());
                writes.lock().unwrap().push((name, keyed, status));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }

    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut windows = Vec::new();
    for (event, verb) in [
        ("kill -9 of the primary", "kill-primary"),
        ("planned switchover", "switchover"),
    ] {
        let before = cluster.run("leader").await;
        let started = Instant::now();
        cluster.run(verb).await;
        cluster.run("wait-healthy").await;
        let healthy = Instant::now();
        let after = cluster.run("leader").await;
        eprintln!(
            "{event}: leader {} -> {} in {:.1} s",
            before.trim(),
            after.trim(),
            (healthy - started).as_secs_f64()
        );
        assert_ne!(before.trim(), after.trim(), "{event}: the leader moved");
        tokio::time::sleep(Duration::from_secs(2)).await;
        invalidation_reaches_the_other_node(&t, &a, &b, &token, windows.len()).await;
        windows.push((event, started, healthy));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }

    let calls = t.calls.calls();
    eprintln!("calls: {:#?}", tally(&calls));
    for (event, started, healthy) in &windows {
        report_latency(event, &calls, *started, *healthy);
    }
    // No 500, and nothing refused for the database on the login path.
    for c in &calls {
        let refused = c.status.is_none_or(|s| s >= 500) || c.unavailable();
        assert!(
            !refused || c.kind.starts_with("management write"),
            "{c:?}\n{}\n{}",
            a.log_text(),
            b.log_text()
        );
        assert!(c.status != Some(500), "{c:?}");
    }
    let writes = writes.lock().unwrap().clone();
    let unknown: Vec<&Write> = writes.iter().filter(|w| w.2 != Some(201)).collect();
    eprintln!(
        "management writes: {} acknowledged, {} answered otherwise: {unknown:?}",
        writes.len() - unknown.len(),
        unknown.len()
    );
    for w in &unknown {
        assert_eq!(
            w.2,
            Some(503),
            "only a 503 (with Retry-After) may refuse a write: {w:?}"
        );
    }
    // Every acknowledged write kept.
    let stored: Vec<String> = sqlx::query_scalar("SELECT name FROM clients WHERE name LIKE 'ha-%'")
        .fetch_all(&pool)
        .await
        .unwrap();
    for (name, _, status) in &writes {
        if *status == Some(201) {
            assert!(stored.contains(name), "acknowledged {name} was lost");
        }
        let copies = stored.iter().filter(|s| *s == name).count();
        assert!(copies <= 1, "{name} was created {copies} times");
    }
    // Every login that got a code was redeemed once, with its own grant.
    let logins = std::mem::take(&mut *logins.lock().unwrap());
    eprintln!(
        "logins: {} codes, {} redeemed, {} refreshed",
        logins.codes.len(),
        logins.redeemed.len(),
        logins.refreshed
    );
    assert!(logins.codes.len() >= 20, "the load ran");
    assert_eq!(
        logins.redeemed.len(),
        logins.codes.len(),
        "no login lost between its code and its tokens"
    );
    check_store(&pool, &site.tenant.tenant_id, &logins).await;
    drop(cluster);
}

/// One login as an application sees it: a code, its tokens, and one refresh.
async fn login_redeem_refresh(t: &Target, logins: &Mutex<Logins>) {
    let Outcome::Code(code) = t.login().await else {
        return;
    };
    logins.lock().unwrap().codes.push(code.clone());
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", &t.callback),
        ("client_id", &t.client_id),
        ("client_secret", &t.client_secret),
    ];
    let request = browser()
        .post(format!("{}oauth/token", t.issuer))
        .form(&form);
    let Some((status, _, body)) = t.calls.send("redeem", request).await else {
        return;
    };
    if status != 200 {
        return;
    }
    logins.lock().unwrap().redeemed.push(code);
    let Some(refresh) = body["refresh_token"].as_str() else {
        return;
    };
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
        ("client_id", &t.client_id),
        ("client_secret", &t.client_secret),
    ];
    let request = browser()
        .post(format!("{}oauth/token", t.issuer))
        .form(&form);
    if let Some((status, _, _)) = t.calls.send("refresh", request).await {
        if status == 200 {
            logins.lock().unwrap().refreshed += 1;
        }
    }
}

async fn management_token(
    t: &Target,
    tenant: &helpers::TestTenant,
    client_id: &str,
    secret: &str,
) -> String {
    let audience = helpers::management_audience(tenant);
    let token: Value = browser()
        .post(format!("{}oauth/token", t.issuer))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("audience", audience.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"].as_str().expect("a token").to_owned()
}

/// A request to one node in particular, for the tenant's host.
fn to_node(
    t: &Target,
    node: &Node,
    method: reqwest::Method,
    path: &str,
) -> reqwest::RequestBuilder {
    let host = url::Url::parse(&t.issuer).unwrap();
    let host = format!("{}:{}", host.host_str().unwrap(), host.port().unwrap());
    browser()
        .request(method, format!("http://{}/{path}", node.addr))
        .header("host", host)
}

/// A callback URL added to the application through node A is accepted at node B's
/// `/authorize` soon after: B's cache heard of the change through the database.
async fn invalidation_reaches_the_other_node(
    t: &Target,
    a: &Node,
    b: &Node,
    token: &str,
    n: usize,
) {
    let added = format!("{}-after-{n}", t.callback);
    let res = to_node(
        t,
        a,
        reqwest::Method::PATCH,
        &format!("api/v2/clients/{}", t.client_id),
    )
    .bearer_auth(token)
    .json(&json!({ "callbacks": [t.callback, added] }))
    .send()
    .await
    .unwrap();
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
    eventually(
        Duration::from_secs(10),
        "node B to see the new callback",
        || {
            let request = to_node(t, b, reqwest::Method::GET, "authorize").query(&[
                ("response_type", "code"),
                ("client_id", t.client_id.as_str()),
                ("redirect_uri", added.as_str()),
                ("scope", "openid"),
                ("connection", "exact"),
            ]);
            let fake = t.fake_base.clone();
            async move {
                let Ok(res) = request.send().await else {
                    return false;
                };
                res.status() == 302
                    && res
                        .headers()
                        .get("location")
                        .and_then(|l| l.to_str().ok())
                        .is_some_and(|l| l.starts_with(&fake))
            }
        },
    )
    .await;
}

/// p50, p99 and max of the login-path requests that were in flight during an event.
fn report_latency(event: &str, calls: &[Call], started: Instant, healthy: Instant) {
    let mut during: Vec<Duration> = calls
        .iter()
        .filter(|c| !c.kind.starts_with("management") && !c.kind.starts_with("exact"))
        .filter(|c| c.ended() >= started && c.started <= healthy)
        .map(|c| c.took)
        .collect();
    let mut outside: Vec<Duration> = calls
        .iter()
        .filter(|c| !c.kind.starts_with("management") && !c.kind.starts_with("exact"))
        .filter(|c| c.ended() < started)
        .map(|c| c.took)
        .collect();
    let pct = |v: &mut Vec<Duration>, p: f64| {
        v.sort();
        v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    eprintln!(
        "latency during {event} ({} requests): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; \
         before it ({} requests): p50 {:.0} ms, p99 {:.0} ms",
        during.len(),
        pct(&mut during, 0.5),
        pct(&mut during, 0.99),
        pct(&mut during, 1.0),
        outside.len(),
        pct(&mut outside, 0.5),
        pct(&mut outside, 0.99),
    );
}

/// What the database must hold: one refresh-token family per redeemed code, one success
/// event per code, every redeemed code spent.
async fn check_store(pool: &PgPool, tenant_id: &uuid::Uuid, logins: &Logins) {
    let families: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT family_id) FROM refresh_tokens WHERE tenant_id = $1",
    )
    .bind(tenant_id)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        families as usize,
        logins.redeemed.len(),
        "one grant per redeemed code: none redeemed twice"
    );
    let successes: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE tenant_id = $1 AND type = 'login_success'",
    )
    .bind(tenant_id)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        successes as usize,
        logins.codes.len(),
        "one success event per login"
    );
    let hashes: Vec<Vec<u8>> = logins
        .redeemed
        .iter()
        .map(|c| gatehouse::crypto::random::token_hash(c))
        .collect();
    let spent: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM authorization_codes WHERE code_hash = ANY($1) AND used_at IS NOT NULL",
    )
    .bind(&hashes)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(spent as usize, logins.redeemed.len());
}
