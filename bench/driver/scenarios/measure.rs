//! How a scenario is measured: closed-loop virtual users calling one operation, the probes on
//! the processes that do the work, and the row each scenario adds to the report.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::http::{self, Steps};
use crate::load::{self, Probes, Shape};
use crate::procs;
use crate::report::{ms, Report, Row};
use crate::Env;

/// Runs `op` as a closed-loop scenario: `shape.concurrency` virtual users, each with its own
/// HTTP client (cookie jar), calling `op(client, user index)` until the window closes.
pub(super) async fn run_op<Op, Fut>(
    name: &str,
    shape: &Shape,
    probes: &Probes<'_>,
    op: Op,
) -> load::Outcome
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
pub(super) fn add_row(report: &mut Report, name: &str, outcome: load::Outcome) {
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
pub(super) async fn measure<Op, Fut>(
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

pub(super) fn probes(env: &Env) -> Probes<'_> {
    probes_of(env, env.node_a().pid())
}

pub(super) fn probes_of(env: &Env, gatehouse: u32) -> Probes<'_> {
    Probes {
        gatehouse,
        pg: env.pg(),
        others: env.fake_pid(),
    }
}

/// CPU a node uses doing nothing (housekeeping, cache refreshes, ...), over 5 s.
pub(super) async fn idle_cpu(pid: u32) -> String {
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
