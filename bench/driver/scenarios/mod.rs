//! The run, scenario by scenario: logins and grants on a one-tenant database, the management
//! API on a tenant with many connections, a configuration change seen from a second node, then
//! restarts and logins again with 100,000 tenants. Ends with the targets. One module per
//! scenario; how a scenario is measured is in `measure`.

mod es256;
mod floor;
mod logins;
mod management;
mod measure;
mod oidc;
mod propagation;
mod signature;
mod targets;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use rand::seq::SliceRandom;

use crate::http::{self, LoginTarget, MachineClient};
use crate::report::Report;
use crate::seed;
use crate::{free_port, procs, Args, Env, Only};
use floor::{floor, floor_fact};
use logins::{logins, paired, prime};
use management::{management, management_available, mgmt_list, MGMT_CREATE, MGMT_GET, MGMT_PATCH};
use measure::{idle_cpu, measure, probes};
use propagation::{propagation, Change};
use signature::{rs256_sign_ms, rs256_sign_ms_rust_crypto};
use targets::targets;

const AUTHORIZE_ONLY: &str = "GET /authorize only (no login completed)";
const LOGIN_ONE: &str = "complete login, 1 tenant";
const CLIENT_CREDENTIALS: &str = "client_credentials grant";
const PAIRED_ONE: &str = "paired rounds: complete login, 1-tenant database";

fn login_many(tenants: usize) -> String {
    format!("complete login, {tenants} tenants")
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
    oidc::oidc_logins(args, env, report, &bench, &target).await?;
    es256::es256_logins(args, env, report, &target).await?;
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
