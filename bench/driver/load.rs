//! Closed-loop load: N virtual users repeat an operation for a warm-up, then for a measured
//! window. Only operations *started* inside the window count; the CPU, statement and memory
//! probes are read at the window's edges, so per-operation figures are (resource used in the
//! window) / (operations started in the window).

use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::http::Steps;
use crate::pg::{self, Pg, Statements, Stmt};
use crate::procs;

// Phase 0 (the default) is the warm-up.
const MEASURE: u8 = 1;
const STOP: u8 = 2;

#[derive(Default)]
pub struct Control {
    phase: AtomicU8,
}

/// One virtual user's record of its operations.
pub struct Recorder {
    control: Arc<Control>,
    pub latencies: Vec<u32>,
    pub steps: Vec<Steps>,
    pub errors: u64,
    pub first_error: Option<String>,
}

pub struct Started {
    at: Instant,
    measured: bool,
}

impl Recorder {
    fn new(control: Arc<Control>) -> Self {
        Recorder {
            control,
            latencies: Vec::with_capacity(4096),
            steps: Vec::new(),
            errors: 0,
            first_error: None,
        }
    }

    pub fn running(&self) -> bool {
        self.control.phase.load(Ordering::Relaxed) != STOP
    }

    pub fn begin(&self) -> Started {
        Started {
            at: Instant::now(),
            measured: self.control.phase.load(Ordering::Relaxed) == MEASURE,
        }
    }

    /// Records an operation's outcome; errors back off a little so a broken server is not
    /// hammered in a tight loop.
    /// An operation made of timed steps takes the sum of its steps (untimed preparation, such
    /// as picking the fake Exact's user, is left out).
    pub async fn finish(&mut self, started: Started, result: Result<Option<Steps>, String>) {
        let elapsed = started.at.elapsed().as_micros().min(u32::MAX as u128) as u32;
        match result {
            Ok(steps) => {
                if started.measured {
                    let micros = steps.map_or(elapsed, |s| s.iter().sum());
                    self.latencies.push(micros);
                    if let Some(s) = steps {
                        self.steps.push(s);
                    }
                }
            }
            Err(e) => {
                if started.measured {
                    self.errors += 1;
                }
                if self.first_error.is_none() {
                    self.first_error = Some(e);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// What a scenario is run against.
pub struct Probes<'a> {
    /// The Gatehouse node under load.
    pub gatehouse: u32,
    pub pg: &'a Pg,
    /// Other processes of the harness (the fake Exact) whose CPU is reported with the driver's.
    pub others: Vec<u32>,
}

struct Snapshot {
    gatehouse: f64,
    pg: Option<f64>,
    rest: f64,
    statements: Option<Statements>,
}

impl Probes<'_> {
    async fn snapshot(&self) -> Snapshot {
        // Statements first: reading them costs PostgreSQL a little CPU, outside the window.
        let statements = self.pg.statements().await;
        let rest = procs::own_cpu_seconds()
            + self
                .others
                .iter()
                .filter_map(|p| procs::cpu_seconds(*p))
                .sum::<f64>();
        Snapshot {
            gatehouse: procs::cpu_seconds(self.gatehouse).unwrap_or(f64::NAN),
            pg: self.pg.cpu_seconds(),
            rest,
            statements,
        }
    }
}

pub struct Shape {
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

/// What one scenario measured.
pub struct Outcome {
    pub concurrency: usize,
    pub ops: u64,
    pub seconds: f64,
    /// Sorted, µs.
    pub latencies: Vec<u32>,
    /// Per step, sorted, µs (logins only).
    pub steps: Vec<Vec<u32>>,
    pub errors: u64,
    pub first_error: Option<String>,
    pub gatehouse_cpu: f64,
    pub pg_cpu: Option<f64>,
    pub rest_cpu: f64,
    pub statements: Option<Vec<Stmt>>,
    pub peak_rss_mb: Option<f64>,
    pub peak_is_own: bool,
}

impl Outcome {
    pub fn throughput(&self) -> f64 {
        self.ops as f64 / self.seconds
    }

    pub fn per_op_ms(&self, cpu_seconds: f64) -> Option<f64> {
        (self.ops > 0 && cpu_seconds.is_finite()).then(|| cpu_seconds * 1000.0 / self.ops as f64)
    }

    pub fn statements_per_op(&self) -> Option<f64> {
        let total: i64 = self.statements.as_ref()?.iter().map(|s| s.calls).sum();
        (self.ops > 0).then(|| total as f64 / self.ops as f64)
    }

    pub fn p(&self, q: f64) -> Option<f64> {
        percentile(&self.latencies, q)
    }

    /// Adds another run of the same scenario (paired rounds): sums, pooled latencies.
    pub fn merge(&mut self, other: Outcome) {
        self.ops += other.ops;
        self.seconds += other.seconds;
        self.latencies.extend(other.latencies);
        self.latencies.sort_unstable();
        for (mine, theirs) in self.steps.iter_mut().zip(other.steps) {
            mine.extend(theirs);
            mine.sort_unstable();
        }
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.gatehouse_cpu += other.gatehouse_cpu;
        self.pg_cpu = self.pg_cpu.zip(other.pg_cpu).map(|(a, b)| a + b);
        self.rest_cpu += other.rest_cpu;
        self.statements = None;
        self.peak_rss_mb = match (self.peak_rss_mb, other.peak_rss_mb) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.peak_is_own &= other.peak_is_own;
    }
}

/// Nearest-rank percentile of sorted µs values, in ms.
pub fn percentile(sorted: &[u32], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q / 100.0) * sorted.len() as f64).ceil() as usize;
    let idx = rank.clamp(1, sorted.len()) - 1;
    Some(sorted[idx] as f64 / 1000.0)
}

/// Runs `user(index, recorder)` as `shape.concurrency` concurrent virtual users; each loops
/// while `recorder.running()` and returns its recorder.
///
/// The users run on a single-threaded runtime of their own: their sockets and the tasks
/// waiting on them stay on one thread, so the driver spends no CPU waking another thread for
/// each answer (on a multi-threaded runtime it cost the shared cores ~0.1 ms per login).
pub async fn run<F, Fut>(shape: &Shape, probes: &Probes<'_>, user: F) -> Outcome
where
    F: Fn(usize, Recorder) -> Fut,
    Fut: Future<Output = Recorder> + Send + 'static,
{
    let control = Arc::new(Control::default());
    let reset = procs::reset_hwm(probes.gatehouse);
    let users: Vec<Fut> = (0..shape.concurrency)
        .map(|i| user(i, Recorder::new(control.clone())))
        .collect();
    let (done, finished) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let recorders = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(async {
                let tasks: Vec<_> = users.into_iter().map(tokio::spawn).collect();
                let mut out = Vec::with_capacity(tasks.len());
                for t in tasks {
                    out.push(t.await.map_err(|e| format!("virtual user panicked: {e}")));
                }
                out
            }),
            Err(e) => vec![Err(format!("cannot start the users' runtime: {e}"))],
        };
        let _ = done.send(recorders);
    });
    tokio::time::sleep(shape.warmup).await;
    probes.pg.analyze().await;
    let before = probes.snapshot().await;
    control.phase.store(MEASURE, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(shape.duration).await;
    control.phase.store(STOP, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    let after = probes.snapshot().await;
    let peak = procs::hwm_mb(probes.gatehouse);

    let mut latencies = Vec::new();
    let mut steps: Vec<Vec<u32>> = vec![Vec::new(); 4];
    let mut errors = 0;
    let mut first_error = None;
    let recorders = finished
        .await
        .unwrap_or_else(|_| vec![Err("the users' thread died".to_owned())]);
    for r in recorders {
        match r {
            Ok(r) => {
                latencies.extend_from_slice(&r.latencies);
                for s in &r.steps {
                    for (i, v) in s.iter().enumerate() {
                        steps[i].push(*v);
                    }
                }
                errors += r.errors;
                if first_error.is_none() {
                    first_error = r.first_error;
                }
            }
            Err(e) => {
                errors += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    latencies.sort_unstable();
    for s in &mut steps {
        s.sort_unstable();
    }
    Outcome {
        concurrency: shape.concurrency,
        ops: latencies.len() as u64,
        seconds,
        latencies,
        steps,
        errors,
        first_error,
        gatehouse_cpu: after.gatehouse - before.gatehouse,
        pg_cpu: after.pg.zip(before.pg).map(|(a, b)| a - b),
        rest_cpu: after.rest - before.rest,
        statements: match (&before.statements, &after.statements) {
            (Some(b), Some(a)) => Some(pg::diff(b, a)),
            _ => None,
        },
        peak_rss_mb: peak,
        peak_is_own: reset,
    }
}
