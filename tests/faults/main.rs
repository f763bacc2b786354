//! Fault tests: PostgreSQL stopped and restarted under load, Exact slow, down or answering
//! garbage under load, and two `gatehouse serve` nodes on one database with one killed and one
//! stopped gracefully in the middle of logins, and a Patroni cluster failing over under two
//! nodes. Each scenario prints what it ran and saw; one module per scenario, what they share
//! in `support` and `nodes`.

#[allow(dead_code)] // the harness serves every test binary; this one uses part of it
#[path = "../helpers/mod.rs"]
mod helpers;
mod nodes;
mod support;

mod callback_logs;
mod exact_outage;
mod node_failover;
mod patroni;
mod postgres_outage;
mod readiness;
mod stale_config;
