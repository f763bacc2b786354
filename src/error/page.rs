//! `PageError`: a browser's answer, a small readable page saying what went wrong and (for
//! logins) the trace id support can look up.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use super::{classify, status_of, Failure};
use crate::services::ServiceError;

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
        let kind = classify(&err.into());
        match kind {
            Failure::Unavailable => Self::new(
                status_of(kind),
                "Temporarily unavailable",
                "Gatehouse cannot reach its database right now. Try again in a moment.",
            ),
            Failure::UnstorableInput => Self::bad_request(
                "The request holds characters that cannot be stored (such as NUL).",
            ),
            Failure::Bug => Self::new(
                status_of(kind),
                "Something went wrong",
                "An internal error occurred. It has been logged.",
            ),
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

impl From<ServiceError> for PageError {
    fn from(err: ServiceError) -> Self {
        match err {
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
