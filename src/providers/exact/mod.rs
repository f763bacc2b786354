//! The Exact Online strategy: endpoints under the connection's base URL (one of Exact's
//! country sites), credentials in the form body, `expires_in` as a string, the OData envelope
//! of `current/Me`, and `user_id = exact|<UserID>`.
//!
//! [`Exact`] is the [`Strategy`]; each part lives in its own module: the options
//! (`options.rs`), the sites (`sites.rs`), the authorize URL (`authorize.rs`), the profile read
//! from `current/Me` (`profile.rs`), the health hints (`hints.rs`) and the dashboard form
//! (`form.rs`). The code exchange is the shared one (`providers::code_exchange`).

mod authorize;
mod form;
mod hints;
mod options;
mod profile;
pub mod sites;

use futures_util::future::BoxFuture;
use secrecy::SecretString;
use serde_json::Value;

use super::code_exchange::{self, ClientAuth, CodeExchange};
use super::{
    Authorization, Callback, FormValues, FormView, HealthFacts, LoginMemo, NormalizedProfile,
    ParsedOptions, Strategy, Upstream, UpstreamConfig, UpstreamError, UpstreamTokens,
};
use crate::domain::FieldError;
use options::ExactSettings;

pub use code_exchange::parse_token_answer;
pub use profile::{normalize, parse_me_answer, MeAnswerProblem};

pub struct Exact;

impl Strategy for Exact {
    fn name(&self) -> &'static str {
        "exact"
    }

    fn display_name(&self) -> &'static str {
        "Exact Online"
    }

    fn registration(&self) -> &'static str {
        "In the App Center of your Exact Online site, register an app and set its Redirect URI to the callback URL below. Then copy the app's client ID and client secret into the form."
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

    fn authorize<'a>(
        &'a self,
        upstream: Upstream<'a>,
        state: &'a str,
    ) -> BoxFuture<'a, Result<Authorization, UpstreamError>> {
        let url = authorize::url(upstream.config, upstream.redirect_uri, state);
        Box::pin(async move {
            Ok(Authorization {
                url,
                memo: LoginMemo::default(),
            })
        })
    }

    fn exchange_code<'a>(
        &'a self,
        upstream: Upstream<'a>,
        callback: &'a Callback<'a>,
        _memo: &'a LoginMemo,
    ) -> BoxFuture<'a, Result<UpstreamTokens, UpstreamError>> {
        let settings: &ExactSettings = upstream.config.settings();
        let token_url = settings.base_url.join("/api/oauth2/token");
        Box::pin(async move {
            code_exchange::exchange(
                upstream.http,
                CodeExchange {
                    token_url: &token_url,
                    client_id: &upstream.config.client_id,
                    client_secret: &upstream.config.client_secret,
                    // Exact wants the credentials in the form body, not in a Basic header.
                    auth: ClientAuth::Post,
                    redirect_uri: upstream.redirect_uri,
                    code: callback.code,
                    code_verifier: None,
                    headers: &[],
                    upstream_name: "Exact",
                },
            )
            .await
        })
    }

    fn fetch_profile<'a>(
        &'a self,
        upstream: Upstream<'a>,
        tokens: &'a UpstreamTokens,
        _memo: &'a LoginMemo,
    ) -> BoxFuture<'a, Result<NormalizedProfile, UpstreamError>> {
        Box::pin(profile::fetch(upstream, tokens))
    }

    fn summary(&self, options: &Value) -> String {
        sites::label(
            options
                .get("baseUrl")
                .and_then(Value::as_str)
                .unwrap_or(sites::DEFAULT_BASE_URL),
        )
    }

    fn hints(&self, facts: &HealthFacts<'_>) -> Vec<String> {
        hints::hints(facts)
    }

    fn form_values(&self, options: &Value) -> FormValues {
        form::values(options)
    }

    fn form_options(&self, form: &FormValues, stored: Option<&Value>) -> Value {
        form::options(form, stored)
    }

    fn render_form(&self, view: &FormView<'_>) -> String {
        form::render(view)
    }

    fn options_schema(&self) -> Value {
        serde_json::from_str(include_str!("options_schema.json"))
            .expect("the Exact options schema is JSON")
    }
}
