//! Complete logins under load: on one target or spread over many tenants, the priming that warms
//! every tenant's caches first, and the paired one-tenant/many-tenants rounds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;

use super::measure::{add_row, measure, probes, probes_of, run_op};
use crate::http::{self, LoginTarget, Steps};
use crate::load::{self, Shape};
use crate::report::Report;
use crate::seed;
use crate::{free_port, Args, Env};

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

pub(super) async fn logins(
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

/// The one-tenant/many-tenants comparison, paired: a second database holding one tenant, its
/// own node, and short rounds alternating between that node and node A (on the big database),
/// so both sides see the same noise from the rest of the machine.
pub(super) async fn paired(
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
pub(super) async fn prime(targets: &[LoginTarget]) -> anyhow::Result<(Duration, u64)> {
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
