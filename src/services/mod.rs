//! Operations shared by the management API, the dashboard and the CLI: they validate, seal,
//! write in one transaction and audit, so every door behaves the same.

pub mod admins;
pub mod client_grants;
pub mod clients;
pub mod connections;
pub mod health;
pub mod hosts;
pub mod keys;
pub mod login;
pub mod rotation;
pub mod tenants;
pub mod tokens;
pub mod users;

pub use crate::db::events::Actor;
use crate::domain::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Invalid(#[from] FieldError),
    #[error("{0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    /// The object changed since the version the caller based its change on.
    #[error("stale version")]
    Stale,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ServiceError {
    fn from(e: sqlx::Error) -> Self {
        ServiceError::Internal(e.into())
    }
}
