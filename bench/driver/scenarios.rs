//! The run, scenario by scenario: logins and grants on a one-tenant database, the management
//! API on a tenant with many connections, a configuration change seen from a second node, then
//! restarts and logins again with 100,000 tenants. Ends with the targets.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use rand::seq::SliceRandom;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::http::{self, LoginTarget, MachineClient, Steps};
use crate::load::{self, percentile, Probes, Shape};
use crate::report::{ms, Report, Row};
use crate::seed::{self, Seeded};
use crate::{free_port, procs, Args, Env, Only};
use gatehouse::services::{self, Actor};

const AUTHORIZE_ONLY: &str = "GET /authorize only (no login completed)";
const LOGIN_ONE: &str = "complete login, 1 tenant";
const CLIENT_CREDENTIALS: &str = "client_credentials grant";
const MGMT_GET: &str = "management: GET connection";
const MGMT_PATCH: &str = "management: PATCH connection";
const MGMT_CREATE: &str = "management: POST connection";
const PAIRED_ONE: &str = "paired rounds: complete login, 1-tenant database";
pub const FLOOR_IO: &str =
    "floor: a login's requests, upstream calls and statements on a bare server of the same stack";
pub const FLOOR_SIGNED: &str = "floor, with the RS256 ID-token signature";
pub const FLOOR_NO_DATABASE: &str =
    "floor, with the signature and without any statement (any design on this stack)";
/// How long a change may take to show on the other node before it counts as lost.
const PROPAGATION_TIMEOUT: Duration = Duration::from_secs(3);

fn login_many(tenants: usize) -> String {
    format!("complete login, {tenants} tenants")
}

fn mgmt_list(connections: usize) -> String {
    format!("management: list connections (50 of {connections})")
}

fn fmt_ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// Figures that are not rows of the results table, kept for the targets.
#[derive(Default)]
struct Extras {
    idle_one: Option<f64>,
    idle_many: Option<f64>,
    startup: Vec<Duration>,
    propagation_p99: Option<f64>,
}

/// Runs `op` as a closed-loop scenario: `shape.concurrency` virtual users, each with its own
/// HTTP client (cookie jar), calling `op(client, user index)` until the window closes.
async fn run_op<Op, Fut>(name: &str, shape: &Shape, probes: &Probes<'_>, op: Op) -> load::Outcome
where
    Op: Fn(reqwest::Client, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<Steps>, String>> + Send + 'static,
{
    eprintln!(
        "bench: {name}, {} users ({} s + {} s)",
        shape.concurrency,
        shape.warmup.as_secs(),
        shape.duration.as_secs()
    );
    let op = Arc::new(op);
    let outcome = load::run(shape, probes, move |user, mut rec| {
        let op = op.clone();
        async move {
            let http = http::client();
            while rec.running() {
                let started = rec.begin();
                let result = op(http.clone(), user).await;
                rec.finish(started, result).await;
            }
            rec
        }
    })
    .await;
    eprintln!(
        "bench:   {} ops, {:.0}/s, p50 {} ms, p99 {} ms, Gatehouse CPU {} ms/op, errors {}",
        outcome.ops,
        outcome.throughput(),
        ms(outcome.p(50.0)),
        ms(outcome.p(99.0)),
        outcome
            .per_op_ms(outcome.gatehouse_cpu)
            .map_or("n/a".into(), |v| format!("{v:.3}")),
        outcome.errors
    );
    outcome
}

/// Adds a scenario's row to the report, with a note when it had errors.
fn add_row(report: &mut Report, name: &str, outcome: load::Outcome) {
    if outcome.errors > 0 || outcome.ops == 0 {
        report.note(format!(
            "{name} ({} users): {} errors; first: {}",
            outcome.concurrency,
            outcome.errors,
            outcome.first_error.as_deref().unwrap_or("none recorded")
        ));
    }
    report.rows.push(Row {
        scenario: name.to_owned(),
        outcome,
    });
}

/// Runs `op` as a scenario and adds its row to the report.
async fn measure<Op, Fut>(
    report: &mut Report,
    name: &str,
    shape: Shape,
    probes: &Probes<'_>,
    op: Op,
) where
    Op: Fn(reqwest::Client, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<Steps>, String>> + Send + 'static,
{
    let outcome = run_op(name, &shape, probes, op).await;
    add_row(report, name, outcome);
}

fn probes(env: &Env) -> Probes<'_> {
    probes_of(env, env.node_a().pid())
}

fn probes_of(env: &Env, gatehouse: u32) -> Probes<'_> {
    Probes {
        gatehouse,
        pg: env.pg(),
        others: env.fake_pid(),
    }
}

/// One complete login on a random target, as a random user of the pool.
async fn login_once(
    http: reqwest::Client,
    targets: Arc<Vec<LoginTarget>>,
) -> Result<Option<Steps>, String> {
    let t = &targets[rand::random::<usize>() % targets.len()];
    let user = rand::random::<u32>() % USER_POOL;
    http::login(&http, t, Some(user)).await.map(Some)
}

/// Logins are spread over this many Exact users (per tenant).
const USER_POOL: u32 = 10_000;

async fn logins(
    args: &Args,
    env: &Env,
    report: &mut Report,
    name: &str,
    targets: Vec<LoginTarget>,
) {
    let targets = Arc::new(targets);
    for &users in &args.login_users {
        let targets = targets.clone();
        measure(
            report,
            name,
            args.shape(users),
            &probes(env),
            move |http, _| login_once(http, targets.clone()),
        )
        .await;
    }
}

/// What the stack and the machine charge for a login's round trips (`bench/floor`): a bare
/// server doing the same requests, upstream calls and statements, without and with the one
/// signature; Gatehouse's CPU above it is its own work.
async fn floor(args: &Args, env: &Env, report: &mut Report) -> anyhow::Result<()> {
    let users = Args::reference_users(&args.login_users);
    for (sign, database, name) in [
        (false, true, FLOOR_IO),
        (true, true, FLOOR_SIGNED),
        (true, false, FLOOR_NO_DATABASE),
    ] {
        let port = free_port()?;
        let mut server = env.start_floor(port, sign, database).await?;
        let base = Arc::new(format!("http://127.0.0.1:{port}"));
        floor_login(&http::client(), &base)
            .await
            .map_err(|e| anyhow!("a first floor login failed: {e}"))?;
        measure(
            report,
            name,
            args.shape(users),
            &probes_of(env, server.pid()),
            move |http, _| {
                let base = base.clone();
                async move { floor_login(&http, &base).await.map(|_| None) }
            },
        )
        .await;
        server.stop(Duration::from_secs(5));
    }
    Ok(())
}

/// The floor's CPU per login beside Gatehouse's: what is the stack's and the machine's, and
/// what is Gatehouse's own.
fn floor_fact(report: &mut Report, users: usize, login_cpu: Option<f64>) {
    let cpu = |name| {
        report
            .row(name, users)
            .and_then(|o| o.per_op_ms(o.gatehouse_cpu))
    };
    if let (Some(io), Some(signed), Some(bare), Some(login)) = (
        cpu(FLOOR_IO),
        cpu(FLOOR_SIGNED),
        cpu(FLOOR_NO_DATABASE),
        login_cpu,
    ) {
        report.fact(
            format!("CPU per login of the floor ({users} users): its I/O alone, with the signature, with the signature and no statement; Gatehouse above the floor"),
            format!("{io:.3} ms, {signed:.3} ms, {bare:.3} ms; {:.3} ms", login - signed),
        );
    }
}

/// The floor server's login: the three requests a login makes of Gatehouse (the browser's
/// visit to the upstream is left out: it costs the server nothing).
async fn floor_login(http: &reqwest::Client, base: &str) -> Result<(), String> {
    let n: u64 = rand::random();
    let expect = |res: reqwest::Response, status: StatusCode| {
        if res.status() == status {
            Ok(res)
        } else {
            Err(format!("{} answered {}", res.url().path(), res.status()))
        }
    };
    let res = http
        .get(format!(
            "{base}/authorize?response_type=code&client_id=floor&state=s{n}&nonce=n{n}\
             &redirect_uri=http%3A%2F%2F127.0.0.1%2Fapp%2Fcallback&scope=openid%20profile%20email"
        ))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    expect(res, StatusCode::FOUND)?;
    let res = http
        .get(format!("{base}/login/callback?code=c{n}&state=s{n}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    expect(res, StatusCode::FOUND)?;
    let code = format!("c{n}");
    let res = http
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://127.0.0.1/app/callback"),
            ("client_id", "floor"),
            ("client_secret", "floor-secret"),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let body: Value = expect(res, StatusCode::OK)?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    if body["access_token"].as_str() != Some(code.as_str()) {
        return Err(format!("the floor's token answer was {body}"));
    }
    Ok(())
}

/// The one-tenant/many-tenants comparison, paired: a second database holding one tenant, its
/// own node, and short rounds alternating between that node and node A (on the big database),
/// so both sides see the same noise from the rest of the machine.
async fn paired(
    args: &Args,
    env: &mut Env,
    report: &mut Report,
    hot: &[LoginTarget],
    names: (&str, &str),
) -> anyhow::Result<()> {
    let users = Args::reference_users(&args.login_users);
    let url = env.pg().create_database("gatehouse_one").await?;
    crate::migrate(&env.bin_dir, &url).await?;
    let port = free_port()?;
    let settings = env.settings(port, &url)?;
    let pool = gatehouse::db::connect(&secrecy::SecretString::from(url.clone()), 2).await?;
    let bench =
        seed::service_tenant(&pool, &env.sealer, &settings, "bench", &env.fake_url, &[]).await?;
    pool.close().await;
    let (node, _) = env.start_node_on("one", port, &url).await?;
    let one = LoginTarget {
        host: node.host(&bench.slug),
        client_id: bench.web_client_id.clone(),
        client_secret: bench.web_secret.clone(),
        callback: seed::CALLBACK.into(),
        connection: seed::CONNECTION.into(),
    };
    let one_pid = node.pid();
    env.node_one = Some(node);
    http::login(&http::client(), &one, None)
        .await
        .map_err(|e| anyhow!("a first login on the one-tenant node failed: {e}"))?;
    let rounds = if args.quick { 2 } else { 5 };
    let shape = Shape {
        concurrency: users,
        warmup: Duration::from_secs(2),
        duration: Duration::from_secs((args.duration / 2).max(3)),
    };
    let sides = [
        (one_pid, Arc::new(vec![one])),
        (env.node_a().pid(), Arc::new(hot.to_vec())),
    ];
    let mut merged: [Option<load::Outcome>; 2] = [None, None];
    for round in 0..rounds {
        for (i, (pid, targets)) in sides.iter().enumerate() {
            let targets = targets.clone();
            let name = format!("{} (round {})", [names.0, names.1][i], round + 1);
            let outcome = run_op(&name, &shape, &probes_of(env, *pid), move |http, _| {
                login_once(http, targets.clone())
            })
            .await;
            match &mut merged[i] {
                Some(m) => m.merge(outcome),
                slot => *slot = Some(outcome),
            }
        }
    }
    if let Some(mut node) = env.node_one.take() {
        node.child.stop(Duration::from_secs(10));
    }
    let [one_side, many_side] = merged;
    for (name, outcome) in [(names.0, one_side), (names.1, many_side)] {
        if let Some(o) = outcome {
            add_row(report, name, o);
        }
    }
    Ok(())
}

/// One login per target, 16 at a time: the caches of every tenant that will receive logins
/// are warm before the measurement, as they are for the one-tenant run.
async fn prime(targets: &[LoginTarget]) -> anyhow::Result<(Duration, u64)> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(180);
    let queue = Arc::new(std::sync::Mutex::new(targets.to_vec()));
    let errors = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let queue = queue.clone();
            let errors = errors.clone();
            tokio::spawn(async move {
                let http = http::client();
                loop {
                    let next = queue.lock().expect("queue").pop();
                    let Some(t) = next else { break };
                    if Instant::now() > deadline {
                        break;
                    }
                    if http::login(&http, &t, None).await.is_err() {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await?;
    }
    Ok((started.elapsed(), errors.load(Ordering::Relaxed)))
}

/// What one RS256 signature costs on this machine: the floor under the token endpoint's CPU.
async fn rs256_sign_ms(key: &gatehouse::crypto::signing::GeneratedKey) -> anyhow::Result<f64> {
    let key = gatehouse::crypto::signing::SigningKey::from_pkcs8(&key.kid, &key.pkcs8_der)?;
    let claims = json!({ "iss": "http://bench.localhost/", "sub": "exact|b0b2c3d4", "aud": "client", "iat": 1, "exp": 2 });
    ms_per_call(400, move || key.sign("JWT", &claims)).await
}

/// Milliseconds per call of `f` on one blocking thread, after a tenth as many warm-up calls.
async fn ms_per_call<T, F>(n: u32, f: F) -> anyhow::Result<f64>
where
    F: Fn() -> T + Send + 'static,
{
    Ok(tokio::task::spawn_blocking(move || {
        for _ in 0..n / 10 {
            std::hint::black_box(f());
        }
        let started = Instant::now();
        for _ in 0..n {
            std::hint::black_box(f());
        }
        started.elapsed().as_secs_f64() * 1000.0 / f64::from(n)
    })
    .await?)
}

/// The same signature with RustCrypto's `rsa` crate, the backend jsonwebtoken's `rust_crypto`
/// feature would use instead of aws-lc: the measurement behind the choice of backend.
async fn rs256_sign_ms_rust_crypto(
    key: &gatehouse::crypto::signing::GeneratedKey,
) -> anyhow::Result<f64> {
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::Signer;
    let key = rsa::RsaPrivateKey::from_pkcs8_der(&key.pkcs8_der)?;
    let signer = rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(key);
    let message = b"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwOi8vYmVuY2gubG9jYWxob3N0LyJ9";
    ms_per_call(100, move || signer.sign(message)).await
}

/// CPU a node uses doing nothing (housekeeping, cache refreshes, ...), over 5 s.
async fn idle_cpu(pid: u32) -> String {
    let window = Duration::from_secs(5);
    let before = procs::cpu_seconds(pid);
    tokio::time::sleep(window).await;
    match (before, procs::cpu_seconds(pid)) {
        (Some(b), Some(a)) => format!(
            "{:.1} ms of CPU per second (over {} s)",
            (a - b) * 1000.0 / window.as_secs_f64(),
            window.as_secs()
        ),
        _ => "n/a".into(),
    }
}

/// Stops node A and starts it again on the same port; returns the time to ready.
async fn restart_a(env: &mut Env) -> anyhow::Result<Duration> {
    let port = env.node_a().port;
    if let Some(mut node) = env.node_a.take() {
        node.child.stop(Duration::from_secs(10));
    }
    let (node, took) = env.start_node("a", port).await?;
    env.node_a = Some(node);
    Ok(took)
}

/// Whether the management API answers on this build (it is being written).
async fn management_available(
    http: &reqwest::Client,
    host: &str,
    token: &str,
) -> anyhow::Result<bool> {
    let res = http::request(
        http,
        Method::GET,
        &format!("http://{host}/api/v2/connections?per_page=1"),
    )
    .map_err(|e| anyhow!(e))?
    .bearer_auth(token)
    .send()
    .await?;
    match res.status() {
        StatusCode::OK => Ok(true),
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => Ok(false),
        other => Err(anyhow!(
            "GET /api/v2/connections answered {other}: {}",
            res.text().await.unwrap_or_default()
        )),
    }
}

async fn management(
    args: &Args,
    env: &Env,
    report: &mut Report,
    mgmt: &Seeded,
    connection_ids: Vec<String>,
) -> anyhow::Result<()> {
    let a = env.node_a();
    let host = a.host(&mgmt.slug);
    let machine = MachineClient {
        host: host.clone(),
        client_id: mgmt.machine_client_id.clone(),
        client_secret: mgmt.machine_secret.clone(),
    };
    let http = http::client();
    let token = http::client_credentials(&http, &machine)
        .await
        .map_err(|e| anyhow!("management token: {e}"))?;
    if !management_available(&http, &host, &token).await? {
        report.note(
            "management API benchmarks skipped: this build does not serve /api/v2/connections yet (404). \
             They run by themselves once it does.",
        );
        return Ok(());
    }
    drop(http);
    let ids = Arc::new(connection_ids);
    let token = Arc::new(token);
    let host = Arc::new(host);
    let shape = || args.shape(args.mgmt_users);

    {
        let (ids, token, host) = (ids.clone(), token.clone(), host.clone());
        measure(report, MGMT_GET, shape(), &probes(env), move |http, _| {
            let (ids, token, host) = (ids.clone(), token.clone(), host.clone());
            async move {
                let id = &ids[rand::random::<usize>() % ids.len()];
                let body = http::management(
                    &http,
                    &host,
                    &token,
                    Method::GET,
                    &format!("/api/v2/connections/{id}"),
                    None,
                    StatusCode::OK,
                )
                .await?;
                (body["id"] == json!(id))
                    .then_some(None)
                    .ok_or_else(|| "GET connection answered another connection".to_owned())
            }
        })
        .await;
    }
    {
        let (token, host) = (token.clone(), host.clone());
        let pages = (ids.len() / 50).max(1);
        measure(
            report,
            &mgmt_list(ids.len()),
            shape(),
            &probes(env),
            move |http, _| {
                let (token, host) = (token.clone(), host.clone());
                async move {
                    let page = rand::random::<usize>() % pages;
                    let body = http::management(
                        &http,
                        &host,
                        &token,
                        Method::GET,
                        &format!("/api/v2/connections?per_page=50&page={page}"),
                        None,
                        StatusCode::OK,
                    )
                    .await?;
                    let items = body
                        .as_array()
                        .or_else(|| body["connections"].as_array())
                        .map_or(0, Vec::len);
                    (items == 50)
                        .then_some(None)
                        .ok_or_else(|| format!("list answered {items} connections, not 50"))
                }
            },
        )
        .await;
    }
    {
        let (ids, token, host) = (ids.clone(), token.clone(), host.clone());
        let counter = Arc::new(AtomicU64::new(0));
        let users = args.mgmt_users;
        // Each user changes its own share of the connections: two users changing the same one
        // at once is a conflict (412), not what this measures.
        measure(report, MGMT_PATCH, shape(), &probes(env), move |http, user| {
            let (ids, token, host) = (ids.clone(), token.clone(), host.clone());
            let n = counter.fetch_add(1, Ordering::Relaxed);
            async move {
                let share = (ids.len() / users).max(1);
                let idx = (user * share + rand::random::<usize>() % share) % ids.len();
                let id = &ids[idx];
                http::management(
                    &http,
                    &host,
                    &token,
                    Method::PATCH,
                    &format!("/api/v2/connections/{id}"),
                    Some(&json!({ "display_name": format!("Bench {n}"), "metadata": { "rev": n.to_string() } })),
                    StatusCode::OK,
                )
                .await
                .map(|_| None)
            }
        })
        .await;
    }
    {
        let (token, host) = (token.clone(), host.clone());
        let counter = Arc::new(AtomicU64::new(0));
        let web = Arc::new(mgmt.web_client_id.clone());
        let fake = Arc::new(env.fake_url.clone());
        measure(
            report,
            MGMT_CREATE,
            shape(),
            &probes(env),
            move |http, _| {
                let (token, host, web, fake) =
                    (token.clone(), host.clone(), web.clone(), fake.clone());
                let n = counter.fetch_add(1, Ordering::Relaxed);
                async move {
                    let body: Value = json!({
                        "name": format!("created-{n}-{:08x}", rand::random::<u32>()),
                        "strategy": "exact",
                        "options": seed::exact_options(&fake, seed::EXACT_CLIENT_ID),
                        "enabled_clients": [web.as_str()],
                    });
                    http::management(
                        &http,
                        &host,
                        &token,
                        Method::POST,
                        "/api/v2/connections",
                        Some(&body),
                        StatusCode::CREATED,
                    )
                    .await
                    .map(|_| None)
                }
            },
        )
        .await;
    }
    Ok(())
}

/// How a change is made on node A.
enum Change {
    /// PATCH /api/v2/connections/{id} on node A with this token.
    Api(String),
    /// `services::connections::update` from the driver (no management API yet).
    Service,
}

/// Changes the `prop` connection's upstream client id again and again, and times how long
/// node B takes to send browsers upstream with the new one.
async fn propagation(
    args: &Args,
    env: &Env,
    report: &mut Report,
    extras: &mut Extras,
    bench: &Seeded,
    change: Change,
) -> anyhow::Result<()> {
    let a = env.node_a();
    let b = env.node_b.as_ref().context("node B")?;
    let (prop_name, prop_id) = bench.extra_connections.first().context("prop connection")?;
    let poll = LoginTarget {
        host: b.host(&bench.slug),
        client_id: bench.web_client_id.clone(),
        client_secret: bench.web_secret.clone(),
        callback: seed::CALLBACK.into(),
        connection: prop_name.clone(),
    };
    let http_a = http::client();
    let http_b = http::client();
    let upstream_client = |loc: &str| http::query_param(loc, "client_id");
    let first = http::authorize(&http_b, &poll)
        .await
        .map_err(|e| anyhow!("node B: {e}"))?;
    if upstream_client(&first).is_none() {
        anyhow::bail!("node B's /authorize redirect has no client_id: {first}");
    }
    let how = match &change {
        Change::Api(_) => "PATCH /api/v2/connections/{id} on node A",
        Change::Service => "services::connections::update from the driver (no management API yet)",
    };
    eprintln!(
        "bench: config change propagation node A → node B, {} changes via {how}",
        args.changes
    );
    let budget = Instant::now() + Duration::from_secs(120);
    let mut latencies: Vec<u32> = Vec::new();
    let mut lost = 0;
    for i in 0..args.changes {
        if Instant::now() > budget {
            report.note(format!(
                "propagation: stopped after {i} changes (the 120 s budget ran out)"
            ));
            break;
        }
        let new_id = format!("prop-{i}-{:08x}", rand::random::<u32>());
        let options = seed::exact_options(&env.fake_url, &new_id);
        match &change {
            Change::Api(token) => {
                http::management(
                    &http_a,
                    &a.host(&bench.slug),
                    token,
                    Method::PATCH,
                    &format!("/api/v2/connections/{prop_id}"),
                    Some(&json!({ "options": options })),
                    StatusCode::OK,
                )
                .await
                .map_err(|e| anyhow!(e))?;
            }
            Change::Service => {
                services::connections::update(
                    &env.pg().pool,
                    &env.sealer,
                    bench.tenant_id,
                    prop_id,
                    &services::connections::ConnectionInput {
                        options: Some(options),
                        ..Default::default()
                    },
                    None,
                    &Actor::named("bench"),
                )
                .await
                .map_err(|e| anyhow!("changing the connection: {e}"))?;
            }
        }
        let committed = Instant::now();
        loop {
            let loc = http::authorize(&http_b, &poll)
                .await
                .map_err(|e| anyhow!("node B: {e}"))?;
            if upstream_client(&loc).as_deref() == Some(new_id.as_str()) {
                latencies.push(committed.elapsed().as_micros() as u32);
                break;
            }
            if committed.elapsed() > PROPAGATION_TIMEOUT {
                lost += 1;
                latencies.push(PROPAGATION_TIMEOUT.as_micros() as u32);
                break;
            }
        }
        let pause = 10 + rand::random::<u64>() % 40;
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    latencies.sort_unstable();
    let p50 = percentile(&latencies, 50.0);
    let p99 = percentile(&latencies, 99.0);
    let max = latencies.last().map(|v| *v as f64 / 1000.0);
    extras.propagation_p99 = p99;
    report.fact(
        "config change on node A visible on node B (polling B's /authorize redirect)",
        format!(
            "p50 {} ms, p99 {} ms, max {} ms over {} changes via {how}{}",
            ms(p50),
            ms(p99),
            ms(max),
            latencies.len(),
            if lost > 0 {
                format!(
                    "; **{lost} not visible within {} s** (counted as {} s)",
                    PROPAGATION_TIMEOUT.as_secs(),
                    PROPAGATION_TIMEOUT.as_secs()
                )
            } else {
                String::new()
            }
        ),
    );
    eprintln!(
        "bench:   p50 {} ms, p99 {} ms, lost {lost}",
        ms(p50),
        ms(p99)
    );
    Ok(())
}

pub async fn all(args: &Args, env: &mut Env, report: &mut Report) -> anyhow::Result<()> {
    let mut extras = Extras::default();
    let port_a = free_port()?;
    let port_b = free_port()?;
    let main_url = env.pg().url.clone();
    let settings = env.settings(port_a, &main_url)?;

    // ---- one tenant -------------------------------------------------------------------
    eprintln!("bench: seeding the benchmark tenant through the services");
    let bench = seed::service_tenant(
        &env.pg().pool,
        &env.sealer,
        &settings,
        "bench",
        &env.fake_url,
        &["prop"],
    )
    .await?;
    let (node, took) = env.start_node("a", port_a).await?;
    env.node_a = Some(node);
    report.fact(
        "first start to ready (1 tenant; migrations already applied)",
        fmt_ms(took),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    extras.idle_one = procs::rss_mb(env.node_a().pid());
    report.fact(
        "idle RSS after start, 1 tenant",
        format!(
            "{} MB",
            extras.idle_one.map_or("n/a".into(), |v| format!("{v:.1}"))
        ),
    );
    report.fact(
        "idle CPU of a node, 1 tenant",
        idle_cpu(env.node_a().pid()).await,
    );

    let a_host = env.node_a().host(&bench.slug);
    let target = LoginTarget {
        host: a_host.clone(),
        client_id: bench.web_client_id.clone(),
        client_secret: bench.web_secret.clone(),
        callback: seed::CALLBACK.into(),
        connection: seed::CONNECTION.into(),
    };
    http::login(&http::client(), &target, None)
        .await
        .map_err(|e| {
            anyhow!(
                "a first login failed: {e}\nthe end of node A's log:\n{}",
                env.node_a().child.log_tail()
            )
        })?;

    if args.only != Some(Only::Login) {
        let target = Arc::new(target.clone());
        measure(
            report,
            AUTHORIZE_ONLY,
            args.shape(1),
            &probes(env),
            move |http, _| {
                let target = target.clone();
                async move { http::authorize(&http, &target).await.map(|_| None) }
            },
        )
        .await;
    }
    if args.only == Some(Only::Authorize) {
        report.statement_breakdowns = vec![(AUTHORIZE_ONLY.into(), 1)];
        return Ok(());
    }
    logins(args, env, report, LOGIN_ONE, vec![target.clone()]).await;
    floor(args, env, report).await?;
    if args.only == Some(Only::Login) {
        let users = Args::reference_users(&args.login_users);
        let login_cpu = report
            .row(LOGIN_ONE, users)
            .and_then(|o| o.per_op_ms(o.gatehouse_cpu));
        floor_fact(report, users, login_cpu);
        report.statement_breakdowns = vec![(LOGIN_ONE.into(), users)];
        return Ok(());
    }

    let machine = MachineClient {
        host: a_host.clone(),
        client_id: bench.machine_client_id.clone(),
        client_secret: bench.machine_secret.clone(),
    };
    http::client_credentials(&http::client(), &machine)
        .await
        .map_err(|e| anyhow!("a first client_credentials grant failed: {e}"))?;
    for &users in &args.cc_users {
        let machine = Arc::new(machine.clone());
        measure(
            report,
            CLIENT_CREDENTIALS,
            args.shape(users),
            &probes(env),
            move |http, _| {
                let machine = machine.clone();
                async move {
                    http::client_credentials(&http, &machine)
                        .await
                        .map(|_| None)
                }
            },
        )
        .await;
    }

    // ---- management API ---------------------------------------------------------------
    eprintln!(
        "bench: seeding the management tenant with {} connections",
        args.connections
    );
    let started = Instant::now();
    let mgmt = seed::service_tenant(
        &env.pg().pool,
        &env.sealer,
        &settings,
        "mgmt",
        &env.fake_url,
        &[],
    )
    .await?;
    let mut ids = vec![mgmt.connection_id.clone()];
    ids.extend(
        seed::bulk_connections(
            &env.pg().pool,
            &env.sealer,
            &mgmt,
            args.connections.saturating_sub(1),
        )
        .await?,
    );
    report.fact(
        format!("seeding {} connections in one tenant", ids.len()),
        fmt_ms(started.elapsed()),
    );
    // Rows were written behind node A's back: a fresh process, as after a deploy.
    restart_a(env).await?;
    management(args, env, report, &mgmt, ids).await?;

    // ---- two nodes ----------------------------------------------------------------------
    let (node_b, _) = env.start_node("b", port_b).await?;
    env.node_b = Some(node_b);
    let token = http::client_credentials(&http::client(), &machine)
        .await
        .map_err(|e| anyhow!("management token: {e}"))?;
    let change = if management_available(&http::client(), &a_host, &token).await? {
        Change::Api(token)
    } else {
        Change::Service
    };
    let result = propagation(args, env, report, &mut extras, &bench, change).await;
    if let Some(mut b) = env.node_b.take() {
        b.child.stop(Duration::from_secs(10));
    }
    result?;

    // ---- many tenants -------------------------------------------------------------------
    eprintln!("bench: seeding {} tenants in bulk", args.tenants);
    let started = Instant::now();
    let keys = seed::generate_keys(4).await?;
    let sign = rs256_sign_ms(&keys[0]).await?;
    report.fact(
        "reference: one RS256 signature with a parsed RSA-2048 key (aws-lc, one core, machine idle); a login signs 1 token (the ID token), a client_credentials grant 1 per client, audience and scope per half hour",
        format!("{sign:.3} ms"),
    );
    let sign_rust_crypto = rs256_sign_ms_rust_crypto(&keys[0]).await?;
    report.fact(
        "reference: the same signature with RustCrypto's rsa crate (jsonwebtoken's rust_crypto backend)",
        format!("{sign_rust_crypto:.3} ms"),
    );
    let tenants =
        seed::bulk_tenants(&env.pg().pool, &env.sealer, &bench, &keys, args.tenants).await?;
    report.fact(
        format!(
            "seeding {} tenants (tenant, signing key, 2 clients, connection each)",
            tenants.len()
        ),
        format!("{:.1} s", started.elapsed().as_secs_f64()),
    );
    for i in 0..args.restarts {
        let took = restart_a(env).await?;
        eprintln!("bench: restart {} to ready: {}", i + 1, fmt_ms(took));
        extras.startup.push(took);
    }
    if extras.startup.is_empty() {
        extras.startup.push(restart_a(env).await?);
    }
    let mut sorted = extras.startup.clone();
    sorted.sort();
    report.fact(
        format!(
            "start-up to ready, existing database with {} tenants",
            tenants.len() + 2
        ),
        format!(
            "median {}, max {} over {} restarts",
            fmt_ms(sorted[sorted.len() / 2]),
            fmt_ms(*sorted.last().expect("a restart")),
            sorted.len()
        ),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    extras.idle_many = procs::rss_mb(env.node_a().pid());
    report.fact(
        format!("idle RSS after start, {} tenants", tenants.len() + 2),
        format!(
            "{} MB",
            extras.idle_many.map_or("n/a".into(), |v| format!("{v:.1}"))
        ),
    );
    report.fact(
        format!("idle CPU of a node, {} tenants", tenants.len() + 2),
        idle_cpu(env.node_a().pid()).await,
    );

    let mut hot: Vec<LoginTarget> = tenants
        .choose_multiple(&mut rand::thread_rng(), args.hot_tenants)
        .map(|t| LoginTarget {
            host: env.node_a().host(&t.slug),
            client_id: t.client_id.clone(),
            client_secret: t.client_secret.clone(),
            callback: seed::CALLBACK.into(),
            connection: seed::CONNECTION.into(),
        })
        .collect();
    hot.shuffle(&mut rand::thread_rng());
    http::login(&http::client(), &hot[0], None)
        .await
        .map_err(|e| anyhow!("a first login on a bulk-seeded tenant failed: {e}"))?;
    eprintln!("bench: priming {} tenants with one login each", hot.len());
    let (took, errors) = prime(&hot).await?;
    report.fact(
        format!(
            "priming: one login on each of {} tenants, 16 at a time",
            hot.len()
        ),
        format!("{:.1} s, {errors} errors", took.as_secs_f64()),
    );
    let many = login_many(tenants.len() + 2);
    logins(args, env, report, &many, hot.clone()).await;
    let paired_names = (
        PAIRED_ONE.to_owned(),
        format!(
            "paired rounds: complete login, {}-tenant database",
            tenants.len() + 2
        ),
    );
    paired(args, env, report, &hot, (&paired_names.0, &paired_names.1)).await?;

    let login_users = Args::reference_users(&args.login_users);
    report.statement_breakdowns = vec![
        (LOGIN_ONE.into(), login_users),
        (AUTHORIZE_ONLY.into(), 1),
        (
            CLIENT_CREDENTIALS.into(),
            Args::reference_users(&args.cc_users),
        ),
        (MGMT_GET.into(), args.mgmt_users),
        (mgmt_list(args.connections), args.mgmt_users),
        (MGMT_PATCH.into(), args.mgmt_users),
        (MGMT_CREATE.into(), args.mgmt_users),
        (many.clone(), login_users),
    ];
    targets(args, report, &extras, &many, &paired_names);
    Ok(())
}

fn targets(
    args: &Args,
    report: &mut Report,
    extras: &Extras,
    many: &str,
    paired: &(String, String),
) {
    let users = Args::reference_users(&args.login_users);
    let figures = |o: &load::Outcome| (o.per_op_ms(o.gatehouse_cpu), o.p(99.0));
    // The paired rounds when they ran (same noise on both sides), else the separate runs.
    let (one, big, how) = match (report.row(&paired.0, users), report.row(&paired.1, users)) {
        (Some(a), Some(b)) => (Some(figures(a)), Some(figures(b)), "paired rounds"),
        _ => (
            report.row(LOGIN_ONE, users).map(figures),
            report.row(many, users).map(figures),
            "separate runs",
        ),
    };
    let best = report
        .rows_of(LOGIN_ONE)
        .map(|o| o.throughput())
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    let cc_users = Args::reference_users(&args.cc_users);
    let cc = report
        .row(CLIENT_CREDENTIALS, cc_users)
        .and_then(|o| o.per_op_ms(o.gatehouse_cpu));
    let get = report
        .row(MGMT_GET, args.mgmt_users)
        .and_then(|o| o.per_op_ms(o.gatehouse_cpu));
    let authorize = report.row(AUTHORIZE_ONLY, 1).and_then(|o| o.p(99.0));
    let peak_many = report
        .rows_of(many)
        .filter_map(|o| o.peak_rss_mb)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    let mut startup = extras.startup.clone();
    startup.sort();
    let startup_median = startup
        .get(startup.len() / 2)
        .map(|d| d.as_secs_f64() * 1000.0);
    let startup_max = startup.last().map(|d| d.as_secs_f64() * 1000.0);

    let login_cpu = report
        .row(LOGIN_ONE, users)
        .and_then(|o| o.per_op_ms(o.gatehouse_cpu));
    let ms3 = |v: f64| format!("{v:.3} ms");
    floor_fact(report, users, login_cpu);
    report.target(
        &format!("Gatehouse CPU per complete login (1 tenant, {users} users)"),
        "≤ 1.0 ms",
        login_cpu,
        ms3,
        |v| v <= 1.0,
    );
    report.target(
        "complete logins per second (1 tenant, best of the concurrencies)",
        "≥ 500/s",
        best,
        |v| format!("{v:.0}/s"),
        |v| v >= 500.0,
    );
    report.target(
        &format!("Gatehouse CPU per client_credentials grant ({cc_users} users)"),
        "≤ 0.3 ms",
        cc,
        ms3,
        |v| v <= 0.3,
    );
    report.target(
        &format!(
            "Gatehouse CPU per management GET connection ({} users)",
            args.mgmt_users
        ),
        "≤ 0.1 ms",
        get,
        ms3,
        |v| v <= 0.1,
    );
    report.target(
        "p99 of GET /authorize, unloaded (1 user)",
        "≤ 2 ms",
        authorize,
        |v| format!("{v:.2} ms"),
        |v| v <= 2.0,
    );
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if a > 0.0 => Some(b / a),
        _ => None,
    };
    let pct = |r: f64| format!("{:+.0}% ({r:.2}×)", (r - 1.0) * 100.0);
    report.target(
        &format!("login CPU with many tenants vs 1 tenant ({users} users, {how})"),
        "within +10%",
        ratio(one.and_then(|o| o.0), big.and_then(|o| o.0)),
        pct,
        |r| r <= 1.10,
    );
    report.target(
        &format!("login p99 with many tenants vs 1 tenant ({users} users, {how})"),
        "within +10%",
        ratio(one.and_then(|o| o.1), big.and_then(|o| o.1)),
        pct,
        |r| r <= 1.10,
    );
    let idle = match (extras.idle_one, extras.idle_many) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    report.target(
        "idle RSS (worse of 1 tenant and many tenants)",
        "≤ 30 MB",
        idle,
        |v| format!("{v:.1} MB"),
        |v| v <= 30.0,
    );
    report.target(
        "peak RSS under login load, many tenants",
        "≤ 150 MB",
        peak_many,
        |v| format!("{v:.1} MB"),
        |v| v <= 150.0,
    );
    report.target(
        "config change visible on a second node, p99",
        "≤ 100 ms",
        extras.propagation_p99,
        |v| format!("{v:.1} ms"),
        |v| v <= 100.0,
    );
    report.target(
        "start-up to ready on an existing database (median of restarts; max in Other measurements)",
        "≤ 1 s",
        startup_median,
        |v| format!("{v:.0} ms (max {:.0} ms)", startup_max.unwrap_or(v)),
        |v| v <= 1000.0,
    );
}
