//! Waiting out a failover: work that is safe to repeat is tried again while the database is
//! away, with a capped backoff, inside a time budget (`GATEHOUSE_DB_RETRY_SECONDS`), so that a
//! Patroni failover of a few seconds is a slow answer rather than a 503.
//!
//! Only work that gives the same outcome when repeated may be run through [`patiently`]: a
//! read, an insert keyed by an id chosen before the first attempt, or a step that recognises
//! its own earlier attempt (a code redemption, a refresh rotation, a login's completion). A
//! statement whose connection broke may have committed; repeating such work is what makes that
//! harmless.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::failure::is_unavailable_now;

/// The first pause between attempts, doubled after each up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(50);
/// The longest pause: a failover is noticed within this of the new primary answering.
const MAX_PAUSE: Duration = Duration::from_millis(500);

/// An error that may mean "the database is away for now" (a lost connection, a server shutting
/// down or read-only after a demotion, no connection to be had).
pub trait MaybeUnavailable {
    fn is_unavailable(&self) -> bool;
}

impl MaybeUnavailable for sqlx::Error {
    fn is_unavailable(&self) -> bool {
        is_unavailable_now(self)
    }
}

impl MaybeUnavailable for anyhow::Error {
    fn is_unavailable(&self) -> bool {
        self.chain()
            .filter_map(|c| c.downcast_ref::<sqlx::Error>())
            .any(is_unavailable_now)
    }
}

/// Runs `work` until it succeeds, fails for another reason than the database being away, or
/// `budget` is spent (then its last error is returned). `work` gets the attempt number, from 1,
/// so that a repeat can look for what an earlier attempt may have committed.
pub async fn patiently<T, E, F, Fut>(budget: Duration, mut work: F) -> Result<T, E>
where
    E: MaybeUnavailable + std::fmt::Debug,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let started = Instant::now();
    let mut pause = FIRST_PAUSE;
    let mut attempt = 1;
    loop {
        match work(attempt).await {
            Err(e) if e.is_unavailable() && started.elapsed() + pause <= budget => {
                tracing::info!(attempt, error = ?e, "database away; trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_PAUSE);
                attempt += 1;
            }
            outcome => {
                if attempt > 1 {
                    tracing::info!(
                        attempts = attempt,
                        waited_ms = started.elapsed().as_millis() as u64,
                        ok = outcome.is_ok(),
                        "database wait over"
                    );
                }
                return outcome;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn repeats_while_unavailable_then_answers() {
        let tries = Cell::new(0);
        let out: Result<u32, sqlx::Error> = patiently(Duration::from_secs(10), |n| {
            tries.set(n);
            async move {
                if n < 4 {
                    Err(sqlx::Error::PoolTimedOut)
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(out.unwrap(), 4);
        assert_eq!(tries.get(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_when_the_budget_is_spent_and_never_repeats_other_errors() {
        let started = tokio::time::Instant::now();
        let out: Result<(), sqlx::Error> = patiently(Duration::from_secs(2), |_| async {
            Err(sqlx::Error::PoolTimedOut)
        })
        .await;
        assert!(matches!(out, Err(sqlx::Error::PoolTimedOut)));
        assert!(started.elapsed() <= Duration::from_secs(2));
        let tries = Cell::new(0);
        let out: Result<(), sqlx::Error> = patiently(Duration::from_secs(10), |n| {
            tries.set(n);
            async { Err(sqlx::Error::RowNotFound) }
        })
        .await;
        assert!(out.is_err());
        assert_eq!(
            tries.get(),
            1,
            "an error that is not the database away is final"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_budget_tries_once() {
        let tries = Cell::new(0);
        let _: Result<(), sqlx::Error> = patiently(Duration::ZERO, |n| {
            tries.set(n);
            async { Err(sqlx::Error::PoolTimedOut) }
        })
        .await;
        assert_eq!(tries.get(), 1);
    }
}
