//! Gatehouse: a self-hosted, multi-tenant control plane for login connections (Exact Online,
//! OpenID Connect and OAuth2 upstreams), with an admin dashboard, an Auth0-shaped management API and per-tenant OIDC login
//! endpoints. `ARCHITECTURE.md` is the map.

pub mod cache;
pub mod cli;
pub mod client_addr;
pub mod config;
pub mod crypto;
pub mod database;
pub mod db;
pub mod deferred_events;
pub mod domain;
pub mod embedded_pg;
pub mod error;
pub mod metrics;
pub mod middleware;
pub mod providers;
pub mod rate_limit;
pub mod routes;
pub mod services;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tenancy;
