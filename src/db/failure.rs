//! What a failed database operation means for the caller, decided once for every surface:
//! the database away, input it cannot store, or a bug. Logged here, with the cause chain.

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
    if db_errors().any(super::is_unstorable_input) {
        tracing::info!(
            error = format!("{err:#}"),
            "input the database cannot store"
        );
        return Failure::UnstorableInput;
    }
    if db_errors().any(super::is_unavailable) {
        tracing::warn!(error = format!("{err:#}"), "database unavailable");
        Failure::Unavailable
    } else {
        tracing::error!(error = format!("{err:#}"), "internal error");
        Failure::Bug
    }
}
