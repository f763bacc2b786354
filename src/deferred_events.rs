//! Events written after the answer they are about, and events whose write failed: a bounded
//! queue that one writer at a time drains in order, in batches, waiting out a database that
//! is away.
//!
//! The token endpoint answers from the node's cache while the database is slow or away, and a
//! login that fails during a failover still has its failure to record. Their events wait here
//! (each keeps the time it happened) and are written when the database answers again, oldest
//! first, many per statement, so neither a flood of grants nor an outage costs a statement per
//! event. At most [`MAX_WAITING`] wait: past that, or after waiting [`RETRY_FOR`] for the
//! database, or when the database refuses the write itself, an event is dropped, counted
//! (`events_dropped_total`) and warned about. What still waits when the node stops is lost
//! (SECURITY.md).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::db::events::{self, NewEvent};
use crate::db::failure::is_unavailable_now;

/// Events that may wait at once. A healthy database writes a batch in about a millisecond, so
/// this many waiting means it is not answering; a thousand small events are a few hundred
/// kilobytes.
pub const MAX_WAITING: usize = 1_000;
/// How long an event may wait for the database: longer than a failover takes.
pub const RETRY_FOR: Duration = Duration::from_secs(60);
/// Events written per statement.
const BATCH: usize = 200;

struct Waiting {
    pool: PgPool,
    tenant_id: Uuid,
    event: NewEvent,
    at: DateTime<Utc>,
}

/// The node's queue of event writes.
pub struct DeferredEvents {
    queue: Mutex<VecDeque<Waiting>>,
    /// Taken from the queue by the writer and not yet written or dropped.
    in_flight: AtomicUsize,
    writing: AtomicBool,
    dropped: AtomicU64,
    retry_for: Duration,
}

impl Default for DeferredEvents {
    fn default() -> Self {
        DeferredEvents::with_patience(RETRY_FOR)
    }
}

impl std::fmt::Debug for DeferredEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeferredEvents")
            .field("waiting", &self.waiting())
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl DeferredEvents {
    /// A queue whose events wait at most `retry_for` for the database.
    pub fn with_patience(retry_for: Duration) -> Self {
        DeferredEvents {
            queue: Mutex::new(VecDeque::new()),
            in_flight: AtomicUsize::new(0),
            writing: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
            retry_for,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Waiting>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `event` for `tenant_id`'s log, as having happened now, or drops it when
    /// [`MAX_WAITING`] events already wait.
    pub fn record(self: &Arc<Self>, pool: &PgPool, tenant_id: Uuid, event: NewEvent) {
        {
            let mut queue = self.lock();
            if queue.len() + self.in_flight.load(Ordering::Acquire) >= MAX_WAITING {
                drop(queue);
                self.drop_events(
                    1,
                    event.event_type,
                    "too many events waiting for the database",
                );
                return;
            }
            queue.push_back(Waiting {
                pool: pool.clone(),
                tenant_id,
                event,
                at: Utc::now(),
            });
        }
        self.start_writer();
    }

    fn start_writer(self: &Arc<Self>) {
        if !self.writing.swap(true, Ordering::AcqRel) {
            let this = Arc::clone(self);
            tokio::spawn(async move { this.write_all().await });
        }
    }

    /// Writes batches until the queue is empty.
    async fn write_all(self: Arc<Self>) {
        loop {
            let batch: Vec<Waiting> = {
                let mut queue = self.lock();
                let n = queue.len().min(BATCH);
                self.in_flight.fetch_add(n, Ordering::AcqRel);
                queue.drain(..n).collect()
            };
            if batch.is_empty() {
                self.writing.store(false, Ordering::Release);
                // An event queued between the last look and the flag: write it too.
                if self.lock().is_empty() || self.writing.swap(true, Ordering::AcqRel) {
                    return;
                }
                continue;
            }
            self.write_batch(&batch).await;
            self.in_flight.fetch_sub(batch.len(), Ordering::AcqRel);
        }
    }

    /// Writes one batch, waiting out a database that is away for as long as its oldest event
    /// may wait.
    async fn write_batch(&self, batch: &[Waiting]) {
        let rows: Vec<(Uuid, &NewEvent, DateTime<Utc>)> = batch
            .iter()
            .map(|w| (w.tenant_id, &w.event, w.at))
            .collect();
        let oldest = batch[0].at;
        let mut pause = Duration::from_millis(50);
        let started = Instant::now();
        loop {
            let error = match events::record_batch(&batch[0].pool, &rows).await {
                Ok(()) => return,
                Err(e) => e,
            };
            let waited = (Utc::now() - oldest).to_std().unwrap_or_default();
            let unavailable = is_unavailable_now(&error);
            if !unavailable || waited >= self.retry_for || started.elapsed() >= self.retry_for {
                self.drop_events(
                    batch.len() as u64,
                    batch[0].event.event_type,
                    &error.to_string(),
                );
                return;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    /// Events dropped since the node started.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Events still waiting to be written.
    pub fn waiting(&self) -> usize {
        self.lock().len() + self.in_flight.load(Ordering::Acquire)
    }

    fn drop_events(&self, count: u64, first: &str, why: &str) {
        let before = self.dropped.fetch_add(count, Ordering::Relaxed);
        // An outage drops events by the thousand; a warning each time the total passes a
        // power of two says so without a line per request. The counter has the exact number.
        let after = before + count;
        if before == 0 || before.ilog2() != after.ilog2() {
            tracing::warn!(
                event = first,
                dropped = after,
                error = why,
                "events were not written"
            );
        }
    }
}

#[cfg(test)]
mod tests {
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
        tokio::task::yield_now().await;
        assert_eq!(deferred.waiting(), MAX_WAITING);
        assert_eq!(deferred.dropped(), 25);
    }

    #[tokio::test]
    async fn events_that_wait_longer_than_their_patience_are_counted_and_free_their_place() {
        let deferred = Arc::new(DeferredEvents::with_patience(Duration::from_millis(300)));
        let pool = unreachable_pool(Duration::from_millis(50));
        for _ in 0..3 {
            deferred.record(&pool, Uuid::new_v4(), granted());
        }
        for _ in 0..200 {
            if deferred.dropped() == 3 && deferred.waiting() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!((deferred.waiting(), deferred.dropped()), (0, 3));
    }
}
