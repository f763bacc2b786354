//! `OAuthError`: the answer of the token endpoints (`/oauth/token`, `/oauth/revoke`) and of
//! `/userinfo` in OAuth's shape (RFC 6749 §5.2, RFC 6750 §3): `{"error","error_description"}`,
//! never cached, with the challenge a client library reads.

use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use super::{classify, status_of, Failure};
use crate::services::login::GrantError;

/// An OAuth error answer.
#[derive(Debug)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    challenge: Option<Challenge>,
    retry_after: Option<u64>,
}

/// The `WWW-Authenticate` challenge that goes with a 401.
#[derive(Debug, Clone, Copy)]
enum Challenge {
    /// Client authentication by HTTP Basic failed (RFC 6749 §5.2).
    Basic,
    /// A bearer token was refused (RFC 6750 §3).
    Bearer,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl OAuthError {
    /// A 400 with this error code.
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self::with_status(StatusCode::BAD_REQUEST, error, description)
    }

    pub fn with_status(
        status: StatusCode,
        error: &'static str,
        description: impl Into<String>,
    ) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
            challenge: None,
            retry_after: None,
        }
    }

    /// Client authentication failed; `basic` when the client tried HTTP Basic.
    pub fn invalid_client(basic: bool) -> Self {
        OAuthError {
            challenge: basic.then_some(Challenge::Basic),
            ..Self::with_status(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed",
            )
        }
    }

    /// A bearer token refused at `/userinfo`.
    pub fn invalid_token(description: impl Into<String>) -> Self {
        OAuthError {
            challenge: Some(Challenge::Bearer),
            ..Self::with_status(StatusCode::UNAUTHORIZED, "invalid_token", description)
        }
    }

    /// Too many requests: `slow_down`, with how long to wait.
    pub fn slow_down(description: impl Into<String>, wait: Duration) -> Self {
        OAuthError {
            retry_after: Some(wait.as_secs().max(1)),
            ..Self::with_status(StatusCode::TOO_MANY_REQUESTS, "slow_down", description)
        }
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        let kind = classify(&err.into());
        match kind {
            Failure::Unavailable => OAuthError {
                retry_after: Some(5),
                ..Self::with_status(
                    status_of(kind),
                    "temporarily_unavailable",
                    "the service is temporarily unavailable",
                )
            },
            Failure::UnstorableInput => Self::new(
                "invalid_request",
                "the request holds characters that cannot be stored",
            ),
            Failure::Bug => Self::with_status(status_of(kind), "server_error", "internal error"),
        }
    }

    pub fn response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        res.insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"));
        match self.challenge {
            Some(Challenge::Basic) => {
                res.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"oauth\""));
            }
            Some(Challenge::Bearer) => {
                res.insert_header((
                    header::WWW_AUTHENTICATE,
                    format!(
                        "Bearer error=\"{}\", error_description=\"{}\"",
                        self.error, self.description
                    ),
                ));
            }
            None => {}
        }
        res.json(Body {
            error: self.error,
            error_description: &self.description,
        })
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.description)
    }
}

impl From<sqlx::Error> for OAuthError {
    fn from(e: sqlx::Error) -> Self {
        OAuthError::internal(e)
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        self.response()
    }
}

impl From<GrantError> for OAuthError {
    fn from(e: GrantError) -> Self {
        match e {
            GrantError::Refused { error, description } => OAuthError::new(error, description),
            GrantError::AccessDenied(description) => {
                OAuthError::with_status(StatusCode::FORBIDDEN, "access_denied", description)
            }
            GrantError::InvalidClient { basic } => OAuthError::invalid_client(basic),
            GrantError::LockedOut(wait) => OAuthError::slow_down(
                format!(
                    "too many failed attempts; retry in {} s",
                    wait.as_secs().max(1)
                ),
                wait,
            ),
            GrantError::Internal(e) => OAuthError::internal(e),
        }
    }
}
