//! Logs of interleaved logins: each callback logs within its own request's span, never inside
//! another's.

use std::time::Duration;

use fake_exact::TokenMode;

use crate::nodes::{finish_in_background, Node, NodesSite};
use crate::support::{Outcome, SERIAL};

/// Regression: the callback once held an entered span across `.await`s, so the next request
/// polled on that worker thread logged inside it, nesting other requests' spans ever deeper
/// (94 KB log lines at 32 concurrent logins). Interleaved callbacks each log within their own
/// request only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callbacks_each_log_within_their_own_request() {
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
    let node = Node::spawn_logging(
        "a",
        &database_url,
        &master_key,
        proxy.port,
        dir.path(),
        "info",
    )
    .await;
    proxy.route_to(&[node.addr], 0);
    let mut begun = Vec::new();
    for _ in 0..8 {
        begun.push(t.start_login().await.expect("authorize"));
    }
    // A slow token exchange keeps every callback waiting at the same time.
    fake.set_token_mode(TokenMode::Slow(Duration::from_millis(300)));
    let mut done = finish_in_background(&t, begun);
    while let Some(outcome) = done.join_next().await {
        assert!(
            matches!(outcome.unwrap(), Outcome::Code(_)),
            "{}",
            node.log_text()
        );
    }
    let log = node.log_text();
    let completed: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("login completed"))
        .collect();
    assert_eq!(completed.len(), 8, "{log}");
    for line in completed {
        assert_eq!(line.matches("request{").count(), 1, "{line}");
        assert!(line.contains("connection="), "{line}");
    }
    pool.close().await;
}
