//! `ApiError`: the management API's answer in Auth0's JSON shape
//! (`{"statusCode","error","message","errorCode"}`).

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use super::{classify, status_of, Failure};
use crate::domain::FieldError;
use crate::services::ServiceError;

/// A management API error: `{"statusCode","error","message","errorCode"}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub error_code: &'static str,
}

impl ApiError {
    pub fn new(status: StatusCode, error_code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            error_code,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_body", message)
    }

    pub fn invalid_field(err: FieldError) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("Payload validation error: '{}' {}", err.field, err.message),
        )
    }

    pub fn invalid_query(err: FieldError) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_query_string",
            format!("Query validation error: '{}' {}", err.field, err.message),
        )
    }

    pub fn not_found(error_code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, error_code, message)
    }

    pub fn conflict(error_code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, error_code, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_token", message)
    }

    pub fn insufficient_scope(expected: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("Insufficient scope, expected any of: {expected}"),
        )
    }

    pub fn precondition_failed() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            "The object was changed since the ETag given in If-Match; fetch it again",
        )
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        let kind = classify(&err.into());
        let status = status_of(kind);
        match kind {
            Failure::Unavailable => Self::new(
                status,
                "temporarily_unavailable",
                "The service is temporarily unavailable; try again shortly",
            ),
            Failure::UnstorableInput => Self::new(
                status,
                "invalid_query_string",
                "The request holds characters that cannot be stored (such as NUL)",
            ),
            Failure::Bug => Self::new(status, "internal_error", "Internal error"),
        }
    }

    /// The answer to a failed service operation, naming the object kind for 404 and 409.
    pub fn service(kind: &'static str, err: ServiceError) -> Self {
        match err {
            ServiceError::Invalid(e) => ApiError::invalid_field(e),
            ServiceError::Conflict(m) => ApiError::conflict(conflict_code(kind), m),
            ServiceError::NotFound => {
                ApiError::not_found(missing_code(kind), format!("The {kind} does not exist"))
            }
            ServiceError::Stale => ApiError::precondition_failed(),
            ServiceError::Internal(e) => ApiError::internal(e),
        }
    }
}

/// The body of a management API error, as Auth0 answers one.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiErrorBody<'a> {
    pub status_code: u16,
    pub error: &'a str,
    pub message: &'a str,
    pub error_code: &'a str,
}

impl ApiError {
    pub fn body(&self) -> ApiErrorBody<'_> {
        ApiErrorBody {
            status_code: self.status.as_u16(),
            error: self.status.canonical_reason().unwrap_or("Error"),
            message: &self.message,
            error_code: self.error_code,
        }
    }

    /// The JSON answer, for handlers that build their responses by hand.
    pub fn into_response_plain(self) -> HttpResponse {
        self.error_response()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.error_code,
            self.message
        )
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::internal(e)
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::invalid_field(e)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.insert_header((header::RETRY_AFTER, "5"));
        }
        res.json(self.body())
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

impl crate::db::retry::MaybeUnavailable for ApiError {
    /// The database was away (`temporarily_unavailable`): the whole request may be tried again
    /// when its work is safe to repeat.
    fn is_unavailable(&self) -> bool {
        self.error_code == "temporarily_unavailable"
    }
}
