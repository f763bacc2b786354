//! One error type per surface, each mapped to HTTP in one place: `ApiError` answers the
//! management API in Auth0's JSON shape, `OAuthError` the token endpoints in OAuth's
//! (RFC 6749 §5.2), `PageError` browsers with a readable page. An internal cause is sorted
//! and logged with its chain once for all three (`db::failure`), and never shown.

mod api;
mod oauth;
mod page;

pub use api::ApiError;
pub use oauth::OAuthError;
pub use page::PageError;

use actix_web::http::StatusCode;

pub use crate::db::failure::{classify, Failure};

/// The status every surface answers an internal failure with.
pub fn status_of(failure: Failure) -> StatusCode {
    match failure {
        Failure::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Failure::UnstorableInput => StatusCode::BAD_REQUEST,
        Failure::Bug => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Which error shape a path answers in: the token endpoints OAuth's, API-ish paths Auth0's
/// JSON, everything else (a browser) a page. Decided here for every error answered before a
/// handler runs (unknown host, rate limit, no route).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    OAuth,
    Api,
    Page,
}

impl Surface {
    pub fn of_path(path: &str) -> Surface {
        if path.starts_with("/oauth/") {
            Surface::OAuth
        } else if ["/api/", "/userinfo", "/.well-known/"]
            .iter()
            .any(|p| path.starts_with(p))
        {
            Surface::Api
        } else {
            Surface::Page
        }
    }

    /// The answer to an internal failure in this surface's shape.
    pub fn internal(self, err: impl Into<anyhow::Error>) -> actix_web::Error {
        match self {
            Surface::OAuth => OAuthError::internal(err).into(),
            Surface::Api => ApiError::internal(err).into(),
            Surface::Page => PageError::internal(err).into(),
        }
    }
}
