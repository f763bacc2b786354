//! PostgreSQL stopped and restarted under load: logins, token grants and management writes
//! fail fast while it is down, recover without restarting Gatehouse, and nothing committed is
//! lost or half-written.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gatehouse::crypto::seal::MasterKey;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use crate::helpers;
use crate::support::{
    browser, codes_stored, consistent_counts, eventually, make_site, pg_data_dir, refresh_families,
    start_pg, tally, Call, Outcome, Target, SERIAL,
};

/// Longest any single request may take, even while something is down ("fail fast").
const FAIL_FAST: Duration = Duration::from_secs(8);

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
    // An outage far longer than a failover: with a short wait (the operator's choice, here
    // 2 s) requests give up quickly and say so, instead of holding the client.
    let app = helpers::spawn_app_configured(
        url.clone(),
        MasterKey::generate_text(),
        &[("GATEHOUSE_DB_RETRY_SECONDS", "2")],
    )
    .await;
    let site = make_site(app.fixtures()).await;
    let (machine_id, machine_secret) = app
        .fixtures()
        .machine_client(&site.tenant, &["create:clients", "read:clients"])
        .await;
    let t = site.target.clone();
    let audience = helpers::management_audience(&site.tenant);
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
    let down_wall = chrono::Utc::now();
    tokio::task::spawn_blocking(move || drop(pg)).await.unwrap();
    let stopped_at = Instant::now();
    let mut readyz_while_down = Vec::new();
    while stopped_at.elapsed() < Duration::from_secs(6) {
        readyz_while_down.push(readyz(t.clone()).await);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let restart_at = Instant::now();
    let restart_wall = chrono::Utc::now();
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
            .bind(site.tenant.tenant_id)
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
    // Every token granted is in the log: those granted from the cache while the database was
    // down waited, and were written once it was back. None was dropped.
    let deferred = &app.state.deferred_events;
    eventually(Duration::from_secs(30), "no event waits", || async {
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
    .bind(site.tenant.tenant_id)
    .fetch_one(&check)
    .await
    .unwrap();
    // (A write whose commit was answered as the database stopped may be logged twice: the
    // queue writes at least once.)
    let (logged, dropped, granted) = (logged as u64, deferred.dropped(), granted as u64);
    assert_eq!(dropped, 0, "no event dropped during a short outage");
    assert!(logged >= granted, "{granted} grants, {logged} logged");
    // Those granted while it was down carry the time they happened, not when they were
    // written (after the restart).
    let granted_while_down = calls
        .iter()
        .filter(|c| c.kind == "client_credentials" && c.succeeded())
        .filter(|c| c.started >= stopped_at && c.ended() <= restart_at)
        .count();
    let logged_while_down: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE tenant_id = $1 AND type = 'client_credentials_exchanged' AND at BETWEEN $2 AND $3",
    )
    .bind(site.tenant.tenant_id)
    .bind(down_wall)
    .bind(restart_wall)
    .fetch_one(&check)
    .await
    .unwrap();
    assert!(
        logged_while_down as usize >= granted_while_down,
        "{granted_while_down} granted while down, {logged_while_down} logged at that time"
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
