//! Operations shared by the management API, the dashboard and the CLI: they validate, seal,
//! write in one transaction and audit, so every door behaves the same.

pub mod admins;
pub mod clients;
pub mod connections;
pub mod health;
pub mod keys;
pub mod rotation;
pub mod tenants;
pub mod users;

use actix_web::http::StatusCode;

pub use crate::db::events::Actor;
use crate::domain::FieldError;
use crate::error::{ApiError, PageError};

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

impl ServiceError {
    /// The management API answer, naming the object kind for 404 and 409.
    pub fn into_api(self, kind: &'static str) -> ApiError {
        match self {
            ServiceError::Invalid(e) => ApiError::invalid_field(e),
            ServiceError::Conflict(m) => ApiError::conflict(conflict_code(kind), m),
            ServiceError::NotFound => {
                ApiError::not_found(missing_code(kind), format!("The {kind} does not exist"))
            }
            ServiceError::Stale => ApiError::precondition_failed(),
            ServiceError::Internal(e) => ApiError::internal(e),
        }
    }

    pub fn into_page(self) -> PageError {
        match self {
            ServiceError::Invalid(e) => PageError::bad_request(e.to_string()),
            ServiceError::Conflict(m) => PageError::new(StatusCode::CONFLICT, "Conflict", m),
            ServiceError::NotFound => PageError::not_found("That object does not exist."),
            ServiceError::Stale => PageError::new(
                StatusCode::CONFLICT,
                "Changed meanwhile",
                "Someone changed this object while you were editing it. Reload and try again.",
            ),
            ServiceError::Internal(e) => PageError::internal(e),
        }
    }
}

fn conflict_code(kind: &str) -> &'static str {
    match kind {
        "connection" => "connection_conflict",
        "client" => "client_conflict",
        "client grant" => "client_grant_conflict",
        "tenant" => "tenant_conflict",
        _ => "conflict",
    }
}

fn missing_code(kind: &str) -> &'static str {
    match kind {
        "connection" => "inexistent_connection",
        "client" => "inexistent_client",
        "client grant" => "inexistent_client_grant",
        "user" => "inexistent_user",
        "tenant" => "inexistent_tenant",
        _ => "not_found",
    }
}
