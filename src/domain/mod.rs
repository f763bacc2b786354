//! Validated domain values: each newtype can only be built through `parse`, so code that holds
//! one knows it is valid ("parse, don't validate").

mod app_type;
mod base_url;
mod connection_name;
pub mod event_kind;
mod host_name;
mod redirect_uri;
mod requester;
mod tenant_slug;
mod web_origin;

pub use app_type::{AppType, GrantType, TokenEndpointAuthMethod};
pub use base_url::{BaseUrl, DEFAULT_EXACT_BASE_URL, EXACT_SITES};
pub use connection_name::{ConnectionName, DisplayName};
pub use host_name::HostName;
pub use redirect_uri::RedirectUri;
pub use requester::Requester;
pub use tenant_slug::TenantSlug;
pub use web_origin::WebOrigin;

/// A rule broken by one input field; the message says which rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}
