//! Events written just after the answer they are about, with a bound on how many may wait.
//!
//! The token endpoint answers from the node's cache while the database is slow or away; its
//! events (a grant, a refusal) are then written in the background. Each waiting write holds a
//! task until the pool gives up on it (its acquire timeout), so without a bound a flood of token
//! requests during an outage would grow the node's memory with the flood. Past the bound an
//! event is dropped, counted (`events_dropped_total`) and warned about.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use sqlx::PgPool;
use uuid::Uuid;

use crate::db::events::{self, NewEvent};

/// Writes that may wait at once. A healthy database writes an event in well under a
/// millisecond, so this many waiting means it is not answering; a thousand small tasks
/// are a few hundred kilobytes.
pub const MAX_WAITING: usize = 1_000;

/// The node's background event writes.
#[derive(Debug, Default)]
pub struct DeferredEvents {
    waiting: AtomicUsize,
    dropped: AtomicU64,
}

impl DeferredEvents {
    /// Writes `event` to `tenant_id`'s log in a task of its own, or drops it when
    /// `MAX_WAITING` writes are already waiting.
    pub fn record(self: &Arc<Self>, pool: &PgPool, tenant_id: Uuid, event: NewEvent) {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            self.drop_event(&event, "too many events waiting for the database");
            return;
        }
        let this = Arc::clone(self);
        let pool = pool.clone();
        tokio::spawn(async move {
            let written = events::record(&pool, tenant_id, &event).await;
            this.waiting.fetch_sub(1, Ordering::AcqRel);
            if let Err(e) = written {
                this.drop_event(&event, &e.to_string());
            }
        });
    }

    /// Events dropped since the node started.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Writes still waiting.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    fn drop_event(&self, event: &NewEvent, why: &str) {
        let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        // An outage drops events by the thousand; a warning at the 1st, 2nd, 4th, 8th, ...
        // says so without a line per request. The counter has the exact number.
        if dropped.is_power_of_two() {
            tracing::warn!(
                event = event.event_type,
                dropped,
                error = why,
                "a token event was not written"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A pool whose every acquire waits `timeout` and fails: a database that does not answer.
    fn unreachable_pool(timeout: Duration) -> PgPool {
        sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(timeout)
            .connect_lazy("postgres://nobody@192.0.2.1:5432/nothing")
            .unwrap()
    }

    fn granted() -> NewEvent {
        NewEvent {
            event_type: "client_credentials_exchanged",
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn past_the_bound_events_are_dropped_and_counted_instead_of_waiting() {
        let deferred = Arc::new(DeferredEvents::default());
        let pool = unreachable_pool(Duration::from_secs(30));
        for _ in 0..MAX_WAITING + 25 {
            deferred.record(&pool, Uuid::new_v4(), granted());
        }
        assert_eq!(deferred.waiting(), MAX_WAITING);
        assert_eq!(deferred.dropped(), 25);
    }

    #[tokio::test]
    async fn a_write_that_fails_is_counted_and_frees_its_place() {
        let deferred = Arc::new(DeferredEvents::default());
        let pool = unreachable_pool(Duration::from_millis(50));
        deferred.record(&pool, Uuid::new_v4(), granted());
        for _ in 0..200 {
            if deferred.dropped() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!((deferred.waiting(), deferred.dropped()), (0, 1));
    }
}
