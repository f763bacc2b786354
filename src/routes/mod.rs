//! HTTP routes, by door: health checks, the login endpoints of tenant hosts, the management
//! API, and the admin dashboard.

pub mod api;
pub mod dashboard;
pub mod health;
pub mod login;
pub mod metrics;
pub mod static_files;
