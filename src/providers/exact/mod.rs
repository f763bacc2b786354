//! The Exact Online strategy: endpoints under the connection's base URL, credentials in the
//! form body, `expires_in` as a string, the OData envelope of `current/Me`, and
//! `user_id = exact|<UserID>`.
//!
//! [`Exact`] is the [`Provider`]; each step it answers for lives in its own module: the
//! connection's options (`options.rs`), the authorize URL (`authorize.rs`), the code exchange
//! (`token.rs`) and the profile read from `current/Me` (`profile.rs`).

mod authorize;
mod options;
mod profile;
mod token;

use futures_util::future::BoxFuture;
use secrecy::SecretString;
use serde_json::Value;

use super::{
    NormalizedProfile, ParsedOptions, Provider, UpstreamConfig, UpstreamError, UpstreamTokens,
};
use crate::domain::FieldError;

pub use options::ROOT_ATTRIBUTE_POLICIES;
pub use profile::{normalize, parse_me_answer, MeAnswerProblem};
pub use token::parse_token_answer;

pub struct Exact;

impl Provider for Exact {
    fn strategy(&self) -> &'static str {
        "exact"
    }

    fn display_name(&self) -> &'static str {
        "Exact Online"
    }

    fn parse_options(
        &self,
        options: &Value,
        has_stored_secret: bool,
    ) -> Result<ParsedOptions, FieldError> {
        options::parse(options, has_stored_secret)
    }

    fn upstream_config(
        &self,
        options: &Value,
        client_secret: SecretString,
    ) -> Result<UpstreamConfig, FieldError> {
        options::upstream_config(options, client_secret)
    }

    fn authorize_url(&self, config: &UpstreamConfig, redirect_uri: &str, state: &str) -> String {
        authorize::url(config, redirect_uri, state)
    }

    fn exchange_code<'a>(
        &'a self,
        http: &'a reqwest::Client,
        config: &'a UpstreamConfig,
        code: &'a str,
        redirect_uri: &'a str,
    ) -> BoxFuture<'a, Result<UpstreamTokens, UpstreamError>> {
        Box::pin(token::exchange_code(http, config, code, redirect_uri))
    }

    fn fetch_profile<'a>(
        &'a self,
        http: &'a reqwest::Client,
        config: &'a UpstreamConfig,
        tokens: &'a UpstreamTokens,
    ) -> BoxFuture<'a, Result<NormalizedProfile, UpstreamError>> {
        Box::pin(profile::fetch(http, config, tokens))
    }
}
