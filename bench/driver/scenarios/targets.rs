//! The targets: each measured figure against the promise it is held to.

use super::es256::LOGIN_ES256;
use super::floor::floor_fact;
use super::management::MGMT_GET;
use super::{Extras, AUTHORIZE_ONLY, CLIENT_CREDENTIALS, LOGIN_ONE};
use crate::load;
use crate::report::Report;
use crate::Args;

pub(super) fn targets(
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
    let es256_cpu = report
        .row(LOGIN_ES256, users)
        .and_then(|o| o.per_op_ms(o.gatehouse_cpu));
    report.target(
        &format!("Gatehouse CPU per complete login, ES256 ID token ({users} users; issue #22)"),
        "≤ 0.5 ms",
        es256_cpu,
        ms3,
        |v| v <= 0.5,
    );
    let best_es256 = report
        .rows_of(LOGIN_ES256)
        .map(|o| o.throughput())
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    report.target(
        "complete logins per second, ES256 (best of the concurrencies; issue #22)",
        "≥ 1,000/s",
        best_es256,
        |v| format!("{v:.0}/s"),
        |v| v >= 1000.0,
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
