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
//! (`events_dropped_total`) and warned about. What still waits when the node stops is written
//! out through the node's own pool (`write_out`), for a bounded time; past it, it is lost and
//! counted (SECURITY.md).

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
    /// Chosen when the event happened: a batch written twice stores it once.
    event_id: Uuid,
    event: NewEvent,
    at: DateTime<Utc>,
}

/// A batch taken from the queue: if its writer ends before writing it (the worker's runtime
/// shutting down at stop), it goes back to the front of the queue, for `write_out`.
struct TakenBatch<'a> {
    owner: &'a DeferredEvents,
    events: Vec<Waiting>,
}

impl Drop for TakenBatch<'_> {
    fn drop(&mut self) {
        if self.events.is_empty() {
            return;
        }
        let n = self.events.len();
        let mut queue = self.owner.lock();
        for w in self.events.drain(..).rev() {
            queue.push_front(w);
        }
        self.owner.in_flight.fetch_sub(n, Ordering::AcqRel);
    }
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
                event_id: Uuid::new_v4(),
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

    fn take_batch(&self) -> TakenBatch<'_> {
        let mut queue = self.lock();
        let n = queue.len().min(BATCH);
        self.in_flight.fetch_add(n, Ordering::AcqRel);
        TakenBatch {
            owner: self,
            events: queue.drain(..n).collect(),
        }
    }

    /// Writes batches until the queue is empty.
    async fn write_all(self: Arc<Self>) {
        loop {
            let mut batch = self.take_batch();
            if batch.events.is_empty() {
                drop(batch);
                self.writing.store(false, Ordering::Release);
                // An event queued between the last look and the flag: write it too.
                if self.lock().is_empty() || self.writing.swap(true, Ordering::AcqRel) {
                    return;
                }
                continue;
            }
            self.write_batch(&batch.events, None).await;
            self.in_flight
                .fetch_sub(batch.events.len(), Ordering::AcqRel);
            batch.events.clear();
        }
    }

    /// Writes out what still waits when the node stops, through `pool` (the node's own: the
    /// workers, whose pools the events name, are gone), for at most `within`; what is left
    /// after is dropped and counted. Returns how many were written.
    pub async fn write_out(&self, pool: &PgPool, within: Duration) -> usize {
        let deadline = Instant::now() + within;
        let mut written = 0;
        loop {
            let mut batch = self.take_batch();
            if batch.events.is_empty() {
                return written;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let n = batch.events.len();
            let outcome =
                tokio::time::timeout(left, self.write_batch(&batch.events, Some(pool))).await;
            self.in_flight.fetch_sub(n, Ordering::AcqRel);
            batch.events.clear();
            match outcome {
                Ok(true) => written += n,
                // Dropped and counted by `write_batch` (the database refused them).
                Ok(false) => {}
                Err(_) => {
                    let rest = {
                        let mut queue = self.lock();
                        let rest = queue.len();
                        queue.clear();
                        rest
                    };
                    self.drop_events(
                        (n + rest) as u64,
                        "event",
                        "the node stopped before the database took them",
                    );
                    return written;
                }
            }
        }
    }

    /// Writes one batch (through `pool`, or the pool each event was recorded with), waiting
    /// out a database that is away for as long as its oldest event may wait. False when it
    /// was dropped.
    async fn write_batch(&self, batch: &[Waiting], pool: Option<&PgPool>) -> bool {
        let rows: Vec<events::BatchedEvent<'_>> = batch
            .iter()
            .map(|w| (w.tenant_id, w.event_id, &w.event, w.at))
            .collect();
        let pool = pool.unwrap_or(&batch[0].pool);
        let oldest = batch[0].at;
        let mut pause = Duration::from_millis(50);
        let started = Instant::now();
        loop {
            let error = match events::record_batch(pool, &rows).await {
                Ok(()) => return true,
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
                return false;
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

    #[test]
    fn a_batch_whose_writer_ends_unwritten_goes_back_to_the_queue_in_order() {
        let deferred = Arc::new(DeferredEvents::default());
        // A worker's runtime: its writer waits on a database that does not answer, and the
        // runtime shuts down (the node stopping) before the batch is written.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let pool = unreachable_pool(Duration::from_secs(30));
            for i in 0..5 {
                let mut event = granted();
                event.description = format!("event {i}");
                deferred.record(&pool, Uuid::new_v4(), event);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(deferred.lock().len(), 0, "the writer took the batch");
        });
        drop(runtime);
        assert_eq!(deferred.waiting(), 5);
        let order: Vec<String> = deferred
            .lock()
            .iter()
            .map(|w| w.event.description.clone())
            .collect();
        assert_eq!(
            order,
            (0..5).map(|i| format!("event {i}")).collect::<Vec<_>>()
        );
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
