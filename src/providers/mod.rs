//! Upstream identity providers as strategies. Each provider is one module implementing
//! [`Provider`]; adding one means a new file and a line in [`STRATEGIES`].

pub mod exact;
pub mod upstream_http;

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};

use crate::crypto::seal::{SealContext, Sealer};
use crate::db::connections::Connection;

use crate::db::users::RootAttributes;
use crate::domain::{BaseUrl, FieldError};

/// Every strategy Gatehouse knows.
pub static STRATEGIES: &[&dyn Provider] = &[&exact::Exact];

pub fn by_strategy(strategy: &str) -> Option<&'static dyn Provider> {
    STRATEGIES
        .iter()
        .copied()
        .find(|p| p.strategy() == strategy)
}

/// Options as validated by a strategy: the public part (stored and shown) and the write-only
/// client secret, if the input carried one.
#[derive(Debug)]
pub struct ParsedOptions {
    pub public: serde_json::Value,
    pub client_secret: Option<SecretString>,
}

/// What a login needs to talk to one connection's upstream.
#[derive(Clone)]
pub struct UpstreamConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    pub base_url: BaseUrl,
    pub options: serde_json::Value,
}

/// Tokens the upstream issued; kept sealed on the identity, never shown.
#[derive(Debug)]
pub struct UpstreamTokens {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_in: Option<u64>,
}

/// A profile normalised to Auth0's user shape.
#[derive(Clone, Debug)]
pub struct NormalizedProfile {
    /// The provider's own id of the user (Exact's `UserID`).
    pub provider_user_id: String,
    /// `{strategy}|{provider_user_id}`.
    pub user_id: String,
    pub root: RootAttributes,
    /// Everything else the provider said, for the identity's `profileData`.
    pub profile_data: serde_json::Value,
}

/// The step of a login at which something failed; also the label of failure metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginStep {
    Authorize,
    Callback,
    UpstreamTokenExchange,
    ProfileFetch,
    UserUpsert,
    /// The user is blocked in this tenant: the login was refused, not stored.
    UserBlocked,
    CodeIssued,
    CodeRedeemed,
}

impl LoginStep {
    pub fn as_str(&self) -> &'static str {
        match self {
            LoginStep::Authorize => "authorize",
            LoginStep::Callback => "callback",
            LoginStep::UpstreamTokenExchange => "upstream_token_exchange",
            LoginStep::ProfileFetch => "profile_fetch",
            LoginStep::UserUpsert => "user_upsert",
            LoginStep::UserBlocked => "user_blocked",
            LoginStep::CodeIssued => "code_issued",
            LoginStep::CodeRedeemed => "code_redeemed",
        }
    }
}

/// How an upstream call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UpstreamFailure {
    /// No answer in time.
    Timeout,
    /// Could not connect.
    Unreachable,
    /// The upstream answered and refused (4xx, or an OAuth error).
    Refused,
    /// The upstream answered something unusable (5xx, HTML, bad JSON, missing fields, too big).
    BadAnswer,
}

/// A failed upstream call, with what the upstream said (truncated, secrets removed).
#[derive(Clone, Debug, thiserror::Error)]
#[error("{description}")]
pub struct UpstreamError {
    pub step: LoginStep,
    pub failure: UpstreamFailure,
    pub status: Option<u16>,
    pub answer: Option<String>,
    pub description: String,
}

impl UpstreamError {
    /// The OAuth error the application gets: a timeout or an unreachable upstream is
    /// temporary, anything else a server error.
    pub fn oauth_error(&self) -> &'static str {
        match self.failure {
            UpstreamFailure::Timeout | UpstreamFailure::Unreachable => "temporarily_unavailable",
            _ => "server_error",
        }
    }
}

/// The provider and the opened upstream settings of a stored connection, for a login.
pub fn open_upstream(
    sealer: &Sealer,
    connection: &Connection,
) -> anyhow::Result<(&'static dyn Provider, UpstreamConfig)> {
    let provider = by_strategy(&connection.strategy)
        .ok_or_else(|| anyhow::anyhow!("unknown strategy {}", connection.strategy))?;
    let sealed = connection.client_secret_sealed.as_deref().ok_or_else(|| {
        anyhow::anyhow!(
            "connection {} has no client secret",
            connection.connection_id
        )
    })?;
    let secret = sealer.open_string(
        sealed,
        &SealContext::connection_secret(connection.tenant_id, &connection.connection_id),
    )?;
    let config = provider.upstream_config(
        &connection.options,
        SecretString::from(secret.expose_secret().to_owned()),
    )?;
    Ok((provider, config))
}

pub trait Provider: Send + Sync {
    /// The strategy name stored on connections (`exact`).
    fn strategy(&self) -> &'static str;

    /// The name people know the provider by ("Exact Online").
    fn display_name(&self) -> &'static str;

    /// Validates connection options. `has_stored_secret` says whether an omitted client secret
    /// can be kept from the stored connection.
    fn parse_options(
        &self,
        options: &serde_json::Value,
        has_stored_secret: bool,
    ) -> Result<ParsedOptions, FieldError>;

    /// The upstream settings from stored public options and the opened secret.
    fn upstream_config(
        &self,
        options: &serde_json::Value,
        client_secret: SecretString,
    ) -> Result<UpstreamConfig, FieldError>;

    /// Where to send the browser.
    fn authorize_url(&self, config: &UpstreamConfig, redirect_uri: &str, state: &str) -> String;

    /// Redeems the upstream's code. Called once per code: codes are single use upstream.
    fn exchange_code<'a>(
        &'a self,
        http: &'a reqwest::Client,
        config: &'a UpstreamConfig,
        code: &'a str,
        redirect_uri: &'a str,
    ) -> BoxFuture<'a, Result<UpstreamTokens, UpstreamError>>;

    /// Reads and normalises the signed-in user's profile.
    fn fetch_profile<'a>(
        &'a self,
        http: &'a reqwest::Client,
        config: &'a UpstreamConfig,
        tokens: &'a UpstreamTokens,
    ) -> BoxFuture<'a, Result<NormalizedProfile, UpstreamError>>;
}
