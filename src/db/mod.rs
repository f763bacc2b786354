//! PostgreSQL access: the pool, migrations, and one module of queries per aggregate. Every
//! tenant-owned query takes the tenant id as its first argument.

pub mod admins;
pub mod client_grants;
pub mod clients;
pub mod connections;
pub mod events;
pub mod failure;
pub mod health;
pub mod idempotency;
pub mod login;
pub mod retry;
pub mod sealed;
pub mod sessions;
pub mod signing_keys;
pub mod stats;
pub mod tenants;
pub mod tokens;
pub mod users;

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A connection idle this long is checked before use; one used more recently is not.
const IDLE_BEFORE_CHECK: Duration = Duration::from_secs(1);

/// A pool that reconnects by itself when the database is back, waits at most 3 s for a
/// connection (request handlers' pools wait longer: see `AppState::for_worker`), and after a
/// failover drops the connections it had before (dead, or on a demoted primary).
pub async fn connect(url: &SecretString, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = url.expose_secret().parse()?;
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(3))
        .idle_timeout(Duration::from_secs(300))
        // sqlx pings every connection it hands out by default: a second round trip for each
        // statement. Only a connection that sat idle long enough to have been cut (a database
        // restart, a proxy's idle timeout) is checked, and, for a while after the database was
        // seen away, every connection opened before that (a failover cut them all, or left
        // them on a demoted primary, now a standby): a failed check discards it and the pool
        // hands out another, so the failover costs few statements on a dead connection. (A
        // node pointed at a standby on purpose still connects: `/readyz` says so.)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                let suspect = failure::suspect(meta.age);
                if suspect {
                    return Ok(!is_standby(conn).await?);
                }
                if meta.idle_for >= IDLE_BEFORE_CHECK {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(options.application_name("gatehouse"))
        .await
}

async fn is_standby(conn: &mut sqlx::PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar::<_, bool>("SELECT pg_is_in_recovery()")
        .fetch_one(conn)
        .await
}

/// Whether the server is a standby in recovery (read-only: a demoted primary, or a replica the
/// node was pointed at), which cannot take the writes every login makes.
pub async fn in_recovery(db: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT pg_is_in_recovery() AS "in_recovery!""#)
        .fetch_one(db)
        .await
}

/// Applies the migrations, then makes the stored events' commit order this cluster's (see
/// [`events::adopt_cluster`]).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await?;
    match events::adopt_cluster(pool).await {
        Ok(0) => {}
        Ok(moved) => tracing::warn!(
            events = moved,
            "events written by another PostgreSQL cluster (restored from a dump?) now come before \
             this cluster's; a log exporter reading from a checkpoint among them may get some again"
        ),
        // Managed databases may keep `pg_control_system()` from the application's role; the
        // check is then skipped, which matters only after restoring into another cluster.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42501") => {
            tracing::warn!("cannot read the cluster's identity (pg_control_system): {e}");
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// True for a unique-constraint violation.
fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().as_deref() == Some("23505"))
}

/// Turns a write's unique-constraint violation (a name or key taken) into the caller's own
/// error, a conflict; every other failure stays what it was.
pub trait OnConstraint<T> {
    fn on_constraint<E: From<sqlx::Error>>(self, conflict: impl FnOnce() -> E) -> Result<T, E>;
}

impl<T> OnConstraint<T> for Result<T, sqlx::Error> {
    fn on_constraint<E: From<sqlx::Error>>(self, conflict: impl FnOnce() -> E) -> Result<T, E> {
        match self {
            Err(e) if is_unique_violation(&e) => Err(conflict()),
            other => other.map_err(E::from),
        }
    }
}
