//! Validated domain values: each newtype can only be built through `parse`, so code that holds
//! one knows it is valid ("parse, don't validate").

mod address_policy;
mod app_type;
mod connection_name;
pub mod event_kind;
mod host_name;
mod redirect_uri;
mod requester;
mod tenant_slug;
mod upstream_url;
mod web_origin;

pub use address_policy::AddressPolicy;
pub use app_type::{AppType, GrantType, TokenEndpointAuthMethod};
pub use connection_name::{ConnectionName, DisplayName};
pub use host_name::HostName;
pub use redirect_uri::RedirectUri;
pub use requester::Requester;
pub use tenant_slug::TenantSlug;
pub use upstream_url::{is_loopback, BaseUrl, UpstreamUrl};
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
