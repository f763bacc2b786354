//! Upstream identity providers as strategies (Exact, OpenID Connect, OAuth2). A strategy is
//! one module implementing [`Strategy`] (typed options and their secret fields, the authorize
//! step and what the login must remember, the code exchange, the profile, health hints, its
//! dashboard form and its OpenAPI schema) plus one line in [`STRATEGIES`]; nothing outside a
//! strategy's module names it.

pub mod address_guard;
pub mod code_exchange;
pub mod exact;
pub mod form;
pub mod oauth2_custom;
pub mod oidc;
pub mod presets;
pub mod typed_options;
pub mod upstream_http;

use std::any::Any;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::crypto::seal::{SealContext, Sealer};
use crate::db::connections::Connection;
use crate::db::users::RootAttributes;
use crate::domain::FieldError;

pub use form::{FormValues, FormView};
use upstream_http::UpstreamClient;

/// Every strategy Gatehouse knows.
pub static STRATEGIES: &[&dyn Strategy] = &[&exact::Exact, &oidc::Oidc, &oauth2_custom::OAuth2];

pub fn by_name(strategy: &str) -> Option<&'static dyn Strategy> {
    STRATEGIES.iter().copied().find(|p| p.name() == strategy)
}

/// Options as validated by a strategy: the public part (stored and shown) and the write-only
/// client secret, if the input carried one.
#[derive(Debug)]
pub struct ParsedOptions {
    pub public: serde_json::Value,
    pub client_secret: Option<SecretString>,
}

/// What a login needs to talk to one connection's upstream: the credentials, the stored
/// public options, and the strategy's own typed settings (parsed once, when the connection is
/// loaded into the cache, with whatever the strategy caches per connection).
#[derive(Clone)]
pub struct UpstreamConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    pub options: serde_json::Value,
    settings: Arc<dyn Any + Send + Sync>,
}

impl UpstreamConfig {
    pub fn new<T: Any + Send + Sync>(
        client_id: String,
        client_secret: SecretString,
        options: serde_json::Value,
        settings: T,
    ) -> Self {
        UpstreamConfig {
            client_id,
            client_secret,
            options,
            settings: Arc::new(settings),
        }
    }

    /// The strategy's settings. A strategy is only ever given the configs it made, so the type
    /// always matches.
    pub fn settings<T: Any>(&self) -> &T {
        self.settings
            .downcast_ref()
            .expect("a strategy is only given the upstream configs it made")
    }
}

/// One login's view of its upstream: the client to call it with, the connection's settings
/// and the callback URL the upstream sends the user back to.
#[derive(Clone, Copy)]
pub struct Upstream<'a> {
    pub http: &'a UpstreamClient,
    pub config: &'a UpstreamConfig,
    pub redirect_uri: &'a str,
    /// The connection's name (OpenID Connect user ids carry it).
    pub connection: &'a str,
}

/// What a login must remember between sending the user upstream and the callback: sealed in
/// the login transaction, never shown.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LoginMemo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_verifier: Option<String>,
    /// The issuer the login was sent to (RFC 9207's `iss` on the callback must match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

impl LoginMemo {
    pub fn is_empty(&self) -> bool {
        self == &LoginMemo::default()
    }
}

/// Where to send the browser, and what the login must remember for the callback.
pub struct Authorization {
    pub url: String,
    pub memo: LoginMemo,
}

/// What the upstream sent back with the user, besides `state`.
pub struct Callback<'a> {
    pub code: &'a str,
    /// RFC 9207's issuer identifier, when the upstream sends one.
    pub iss: Option<&'a str>,
}

/// Tokens the upstream issued; kept sealed on the identity, never shown.
#[derive(Debug)]
pub struct UpstreamTokens {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_in: Option<u64>,
    pub id_token: Option<SecretString>,
}

/// A profile normalised to Auth0's user shape.
#[derive(Clone, Debug)]
pub struct NormalizedProfile {
    /// The provider's own id of the user (Exact's `UserID`, an OpenID Connect `sub`).
    pub provider_user_id: String,
    /// The Gatehouse user id: `exact|<UserID>`, `oidc|<connection>|<sub>`, `oauth2|<connection>|<id>`.
    pub user_id: String,
    pub root: RootAttributes,
    /// Everything else the provider said, for the identity's `profileData`.
    pub profile_data: serde_json::Value,
}

/// What the health tab knows of a connection's recent logins, for a strategy's hints.
pub struct HealthFacts<'a> {
    /// The step the last failed login failed at, and what the upstream said then.
    pub last_step: Option<&'a str>,
    pub last_status: Option<i64>,
    /// The upstream's answer to the last failure, lowercased.
    pub last_answer: &'a str,
    pub last_description: &'a str,
    /// Logins sent upstream in the last day that never came back, and none succeeded.
    pub abandoned_without_success: bool,
    pub callback_url: &'a str,
    pub options: &'a serde_json::Value,
}

/// The step of a login at which something failed; also the label of failure metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginStep {
    Authorize,
    Callback,
    UpstreamTokenExchange,
    ProfileFetch,
    /// The upstream's OpenID Connect discovery document or keys could not be read.
    Discovery,
    /// The upstream's ID token failed validation (signature, issuer, audience, nonce, ...).
    IdTokenValidation,
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
            LoginStep::Discovery => "discovery",
            LoginStep::IdTokenValidation => "id_token_validation",
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
    /// The upstream answered something unusable (5xx, HTML, bad JSON, missing fields, too big,
    /// an ID token that fails validation).
    BadAnswer,
    /// The upstream's address is one the operator forbids (metadata, link-local, private).
    Forbidden,
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
    /// A failure at `step` with no upstream answer to keep.
    pub fn new(step: LoginStep, failure: UpstreamFailure, description: impl Into<String>) -> Self {
        UpstreamError {
            step,
            failure,
            status: None,
            answer: None,
            description: description.into(),
        }
    }

    /// The OAuth error the application gets: a timeout or an unreachable upstream is
    /// temporary, anything else a server error.
    pub fn oauth_error(&self) -> &'static str {
        match self.failure {
            UpstreamFailure::Timeout | UpstreamFailure::Unreachable => "temporarily_unavailable",
            _ => "server_error",
        }
    }
}

/// The strategy and the opened upstream settings of a stored connection, for a login.
pub fn open_upstream(
    sealer: &Sealer,
    connection: &Connection,
) -> anyhow::Result<(&'static dyn Strategy, UpstreamConfig)> {
    let strategy = by_name(&connection.strategy)
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
    let config = strategy.upstream_config(
        &connection.options,
        SecretString::from(secret.expose_secret().to_owned()),
    )?;
    Ok((strategy, config))
}

pub trait Strategy: Send + Sync {
    /// The strategy name stored on connections (`exact`, `oidc`, `oauth2`).
    fn name(&self) -> &'static str;

    /// What people call this kind of connection ("Exact Online", "OpenID Connect").
    fn display_name(&self) -> &'static str;

    /// Its entry in the dashboard's "New connection" chooser.
    fn chooser_label(&self) -> &'static str {
        self.display_name()
    }

    /// How to register an app at the provider, in a sentence or two, ending with the
    /// callback URL (which the form shows right after).
    fn registration(&self) -> &'static str;

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

    /// Where to send the browser, and what to remember (nonce, PKCE verifier).
    fn authorize<'a>(
        &'a self,
        upstream: Upstream<'a>,
        state: &'a str,
    ) -> BoxFuture<'a, Result<Authorization, UpstreamError>>;

    /// Redeems the upstream's code. Called once per code: codes are single use upstream.
    fn exchange_code<'a>(
        &'a self,
        upstream: Upstream<'a>,
        callback: &'a Callback<'a>,
        memo: &'a LoginMemo,
    ) -> BoxFuture<'a, Result<UpstreamTokens, UpstreamError>>;

    /// Checks what the tokens say of the user (an ID token, a profile endpoint) and
    /// normalises the profile.
    fn fetch_profile<'a>(
        &'a self,
        upstream: Upstream<'a>,
        tokens: &'a UpstreamTokens,
        memo: &'a LoginMemo,
    ) -> BoxFuture<'a, Result<NormalizedProfile, UpstreamError>>;

    /// Where the connection's upstream is, in a few words, for the dashboard's list.
    fn summary(&self, options: &serde_json::Value) -> String;

    /// Plain-language hints for what usually causes the failures seen.
    fn hints(&self, facts: &HealthFacts<'_>) -> Vec<String>;

    /// The dashboard form's fields for stored options (never a secret).
    fn form_values(&self, options: &serde_json::Value) -> FormValues;

    /// The options a posted form means, over the stored options the form does not show; a
    /// secret field left empty is left out (the stored secret is kept).
    fn form_options(
        &self,
        form: &FormValues,
        stored: Option<&serde_json::Value>,
    ) -> serde_json::Value;

    /// The strategy's part of the dashboard's connection form, as HTML.
    fn render_form(&self, view: &FormView<'_>) -> String;

    /// The JSON schema of the strategy's `options` in the management API's OpenAPI document.
    fn options_schema(&self) -> serde_json::Value;
}
