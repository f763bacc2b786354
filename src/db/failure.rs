//! What a failed database operation means for the caller, decided once for every surface:
//! the database away, input it cannot store, or a bug. Logged here, with the cause chain.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// What an internal failure is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The database is away: worth retrying shortly (503, `temporarily_unavailable`).
    Unavailable,
    /// Input the database cannot store or compare, a NUL byte say: the caller's fault (400).
    UnstorableInput,
    /// Anything else: a bug (500).
    Bug,
}

/// Logs an internal failure with its cause chain and sorts it.
pub fn classify(err: &anyhow::Error) -> Failure {
    let db_errors = || err.chain().filter_map(|c| c.downcast_ref::<sqlx::Error>());
    if db_errors().any(is_unstorable_input) {
        tracing::info!(
            error = format!("{err:#}"),
            "input the database cannot store"
        );
        return Failure::UnstorableInput;
    }
    if db_errors().any(is_unavailable) {
        tracing::warn!(error = format!("{err:#}"), "database unavailable");
        Failure::Unavailable
    } else {
        tracing::error!(error = format!("{err:#}"), "internal error");
        Failure::Bug
    }
}

/// Whether a database error means the database is away (worth waiting for), without logging:
/// for work that waits it out itself (the deferred event writer, `db::retry`).
pub fn is_unavailable_now(err: &sqlx::Error) -> bool {
    is_unavailable(err)
}

/// How long after the database was last seen away the pool checks the connections it had
/// from before (see `db::connect`).
const SUSPICION: Duration = Duration::from_secs(15);

/// When the database was last seen away, in milliseconds since [`EPOCH`] (0: never).
static LAST_AWAY_MS: AtomicU64 = AtomicU64::new(0);
static EPOCH: OnceLock<Instant> = OnceLock::new();

fn since_epoch() -> Duration {
    EPOCH.get_or_init(Instant::now).elapsed()
}

/// Notes that the database was just seen away (a failed statement, the change listener's
/// connection lost).
pub fn note_away() {
    let now = since_epoch().as_millis().max(1) as u64;
    LAST_AWAY_MS.store(now, Ordering::Relaxed);
}

/// Whether a connection this old may predate the database last going away, recently enough
/// that it may be dead or on a demoted primary.
pub fn suspect(connection_age: Duration) -> bool {
    let away = LAST_AWAY_MS.load(Ordering::Relaxed);
    if away == 0 {
        return false;
    }
    let since_away = since_epoch().saturating_sub(Duration::from_millis(away));
    since_away < SUSPICION && connection_age > since_away
}

/// True for input PostgreSQL refuses to store or compare (a NUL byte in text, an invalid
/// encoding): the caller's fault, answered with 400.
fn is_unstorable_input(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("22021" | "22P05" | "54000")))
        || matches!(err, sqlx::Error::Encode(_))
}

/// True for errors that mean "the database cannot take this right now" (answered with 503):
/// the pool or the connection gone, the server shutting down (`57P*`), a connection failure
/// (`08*`), or a write on a server that has just become a read-only standby (`25006`, a
/// connection that landed on a demoted primary during a failover).
fn is_unavailable(err: &sqlx::Error) -> bool {
    let away = matches!(
        err,
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed
    ) || matches!(err, sqlx::Error::Database(db) if db.code().as_deref().is_some_and(|c| {
        c.starts_with("57P") || c.starts_with("08") || c == "25006"
    }));
    if away {
        note_away();
    }
    away
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    /// A database error with only an SQLSTATE, as PostgreSQL sends them.
    #[derive(Debug)]
    struct Sqlstate(&'static str);

    impl std::fmt::Display for Sqlstate {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "SQLSTATE {}", self.0)
        }
    }

    impl std::error::Error for Sqlstate {}

    impl sqlx::error::DatabaseError for Sqlstate {
        fn message(&self) -> &str {
            self.0
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn failure_of(code: &'static str) -> Failure {
        classify(&anyhow::Error::from(sqlx::Error::Database(Box::new(
            Sqlstate(code),
        ))))
    }

    #[test]
    fn a_database_going_away_or_read_only_is_unavailable() {
        // Admin shutdown, connection failure, and a write on a just-demoted primary.
        for code in ["57P01", "57P03", "08006", "25006"] {
            assert_eq!(failure_of(code), Failure::Unavailable, "{code}");
        }
        assert_eq!(
            classify(&anyhow::Error::from(sqlx::Error::PoolTimedOut)),
            Failure::Unavailable
        );
    }

    #[test]
    fn unstorable_input_is_the_callers_and_the_rest_a_bug() {
        assert_eq!(failure_of("22021"), Failure::UnstorableInput);
        assert_eq!(failure_of("23505"), Failure::Bug);
        assert_eq!(classify(&anyhow::anyhow!("something else")), Failure::Bug);
    }
}
