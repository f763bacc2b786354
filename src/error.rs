//! One error type per surface, each mapped to HTTP in one place: `ApiError` answers the
//! management API in Auth0's JSON shape, `PageError` answers browsers with a readable page.
//! Internal causes are logged with their chain and never shown.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use serde_json::json;

use crate::domain::FieldError;

/// Logs an internal failure with its cause chain and says whether it is the database being
/// away (503), input the database cannot store (400: a NUL byte, say), or a bug (500).
pub fn log_internal(err: &anyhow::Error) -> StatusCode {
    let db_errors = || err.chain().filter_map(|c| c.downcast_ref::<sqlx::Error>());
    if db_errors().any(crate::db::is_unstorable_input) {
        tracing::info!(
            error = format!("{err:#}"),
            "input the database cannot store"
        );
        return StatusCode::BAD_REQUEST;
    }
    if db_errors().any(crate::db::is_unavailable) {
        tracing::warn!(error = format!("{err:#}"), "database unavailable");
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        tracing::error!(error = format!("{err:#}"), "internal error");
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

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
        let status = log_internal(&err.into());
        if status == StatusCode::SERVICE_UNAVAILABLE {
            Self::new(
                status,
                "temporarily_unavailable",
                "The service is temporarily unavailable; try again shortly",
            )
        } else if status == StatusCode::BAD_REQUEST {
            Self::new(
                status,
                "invalid_query_string",
                "The request holds characters that cannot be stored (such as NUL)",
            )
        } else {
            Self::new(status, "internal_error", "Internal error")
        }
    }
}

impl ApiError {
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
        res.json(json!({
            "statusCode": self.status.as_u16(),
            "error": self.status.canonical_reason().unwrap_or("Error"),
            "message": self.message,
            "errorCode": self.error_code,
        }))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    trace_id: Option<&'a str>,
}

/// A browser-facing error: a small page saying what went wrong and (for logins) the trace id
/// support can look up.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub message: String,
    pub trace_id: Option<String>,
}

impl PageError {
    pub fn new(status: StatusCode, title: impl Into<String>, message: impl Into<String>) -> Self {
        PageError {
            status,
            title: title.into(),
            message: message.into(),
            trace_id: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", message)
    }

    pub fn with_trace(mut self, trace_id: impl std::fmt::Display) -> Self {
        self.trace_id = Some(trace_id.to_string());
        self
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        let status = log_internal(&err.into());
        if status == StatusCode::SERVICE_UNAVAILABLE {
            Self::new(
                status,
                "Temporarily unavailable",
                "Gatehouse cannot reach its database right now. Try again in a moment.",
            )
        } else if status == StatusCode::BAD_REQUEST {
            Self::bad_request("The request holds characters that cannot be stored (such as NUL).")
        } else {
            Self::new(
                status,
                "Something went wrong",
                "An internal error occurred. It has been logged.",
            )
        }
    }

    pub fn render(&self) -> HttpResponse {
        let page = ErrorPage {
            title: &self.title,
            message: &self.message,
            trace_id: self.trace_id.as_deref(),
        };
        let body = page.render().unwrap_or_else(|_| "Error".to_owned());
        let mut res = HttpResponse::build(self.status);
        res.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ));
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.insert_header((header::RETRY_AFTER, "5"));
        }
        res.body(body)
    }
}

impl PageError {
    /// The page, also clearing or setting a cookie.
    pub fn render_with_cookie(&self, cookie: actix_web::cookie::Cookie<'_>) -> HttpResponse {
        let mut res = self.render();
        let _ = res.add_cookie(&cookie);
        res
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.title, self.message)
    }
}

impl From<sqlx::Error> for PageError {
    fn from(e: sqlx::Error) -> Self {
        PageError::internal(e)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        self.render()
    }
}
