//! A login through nodes that come and go: begun on one node and finished on another, cut off
//! by a killed node, and completed while a node stops gracefully; no code is half-written.

use std::time::{Duration, Instant};

use fake_exact::TokenMode;
use sqlx::PgPool;

use crate::nodes::{finish_in_background, Node, NodesSite};
use crate::support::{
    codes_stored, consistent_counts, eventually, refresh_families, tally, Outcome, Started, SERIAL,
};

/// Login transactions begun and not yet taken by a callback.
async fn open_transactions(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM login_transactions WHERE taken_by IS NULL")
        .fetch_one(pool)
        .await
        .unwrap()
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
