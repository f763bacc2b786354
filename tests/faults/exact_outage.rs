//! Exact slow, down or answering garbage under load: each login ends in an OAuth error the
//! application can act on, Gatehouse's memory and threads stay bounded, no upstream code is
//! sent twice, and logins work again as soon as Exact is back.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fake_exact::{Consent, FakeExact, FakeExactHandle, MeMode, TokenMode};
use serde_json::Value;

use crate::helpers;
use crate::support::{consistent_counts, make_site, Outcome, Target, SERIAL};

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
    let mut site = make_site(app.fixtures()).await;
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
    .bind(site.tenant.tenant_id)
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
