//! Integration tests over real HTTP against a real PostgreSQL, in one binary.

mod browser;
mod cache;
mod dashboard;
mod dashboard_health;
mod dashboard_security;
mod foundation;
#[allow(dead_code)] // the harness serves every test binary; this one uses most of it
#[path = "../helpers/mod.rs"]
mod helpers;
mod hostile_input;
mod login;
mod login_authorize;
mod login_browser_apps;
mod login_callback;
mod login_oidc;
mod login_oidc_library;
mod login_token;
mod management_auth;
mod management_clients;
mod management_connections;
mod management_http;
mod management_isolation;
mod management_next_login;
mod management_sdk;
mod management_strategies;
mod management_support;
mod management_users;
mod observability;
mod rate_limits;
mod signing_algorithms;
