//! `GrantError`: why a token request (a grant, a client authentication, a revocation) was
//! refused, in OAuth's terms (RFC 6749 §5.2); the routes answer it in OAuth's shape.

use std::time::Duration;

use crate::db::retry::MaybeUnavailable;

#[derive(Debug)]
pub enum GrantError {
    /// Refused with this OAuth error code (`invalid_request`, `invalid_grant`,
    /// `unauthorized_client`, ...) and a description the client may show.
    Refused {
        error: &'static str,
        description: String,
    },
    /// The client may not have what it asked for (`access_denied`, a 403).
    AccessDenied(String),
    /// Client authentication failed; `basic` when the client tried HTTP Basic.
    InvalidClient {
        basic: bool,
    },
    /// Too many failed client authentications: refused unchecked for this long.
    LockedOut(Duration),
    Internal(anyhow::Error),
}

impl GrantError {
    pub fn refused(error: &'static str, description: impl Into<String>) -> Self {
        GrantError::Refused {
            error,
            description: description.into(),
        }
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::refused("invalid_grant", description)
    }
}

impl From<sqlx::Error> for GrantError {
    fn from(e: sqlx::Error) -> Self {
        GrantError::Internal(e.into())
    }
}

impl From<anyhow::Error> for GrantError {
    fn from(e: anyhow::Error) -> Self {
        GrantError::Internal(e)
    }
}

impl MaybeUnavailable for GrantError {
    fn is_unavailable(&self) -> bool {
        matches!(self, GrantError::Internal(e) if e.is_unavailable())
    }
}
