//! The `oidc` strategy: any OpenID Connect provider (Microsoft Entra ID, Google, a customer's
//! own), in Auth0's enterprise-connection shape. The code flow with a nonce and PKCE, the
//! token endpoint authentication the provider's discovery advertises, and an ID token
//! validated in full before a user is written.
//!
//! Options (`options.rs`), discovery and key caching (`discovery.rs`), ID token validation
//! (`id_token.rs`), the profile (`profile.rs`), health hints (`hints.rs`) and the dashboard
//! form (`form.rs`) each own their part; the code exchange is the shared one.

mod discovery;
mod form;
mod hints;
mod id_token;
mod options;
mod profile;

use std::sync::{Arc, LazyLock};

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::code_exchange::{self, ClientAuth, CodeExchange};
use super::{
    Authorization, Callback, FormValues, FormView, HealthFacts, LoginMemo, LoginStep,
    NormalizedProfile, ParsedOptions, Strategy, Upstream, UpstreamConfig, UpstreamError,
    UpstreamFailure, UpstreamTokens,
};
use crate::crypto::random::{opaque_token, s256};
use crate::domain::FieldError;
use discovery::Discovered;
use options::{Pkce, Settings};

pub struct Oidc;

/// A connection's settings and what is cached of its upstream.
struct OidcState {
    settings: Settings,
    discovered: Arc<Discovered>,
}

/// What is known of each upstream, shared by every connection (and every cached copy of one)
/// that finds it the same way: one discovery and key fetch per upstream, not per copy.
fn discovered_for(settings: &Settings) -> Arc<Discovered> {
    static KNOWN: LazyLock<moka::sync::Cache<String, Arc<Discovered>>> = LazyLock::new(|| {
        moka::sync::Cache::builder()
            .max_capacity(10_000)
            .time_to_idle(std::time::Duration::from_secs(24 * 3600))
            .build()
    });
    let key = serde_json::json!([
        settings.discovery_url.as_ref().map(|u| u.as_str()),
        settings.issuer,
        settings.authorization_endpoint.as_ref().map(|u| u.as_str()),
        settings.token_endpoint.as_ref().map(|u| u.as_str()),
        settings.userinfo_endpoint.as_ref().map(|u| u.as_str()),
        settings.jwks_uri.as_ref().map(|u| u.as_str()),
    ])
    .to_string();
    KNOWN.get_with(key, || Arc::new(Discovered::default()))
}

fn state<'a>(upstream: &Upstream<'a>) -> &'a OidcState {
    upstream.config.settings()
}

async fn authorize(
    upstream: Upstream<'_>,
    upstream_state: &str,
) -> Result<Authorization, UpstreamError> {
    let s = state(&upstream);
    let metadata = s.discovered.metadata(upstream.http, &s.settings).await?;
    let nonce = opaque_token(24);
    let use_pkce = match s.settings.pkce {
        Pkce::Always => true,
        Pkce::Disabled => false,
        Pkce::Auto => metadata
            .code_challenge_methods
            .as_ref()
            .is_none_or(|m| m.iter().any(|m| m == "S256")),
    };
    let code_verifier = use_pkce.then(|| opaque_token(48));
    let mut url = metadata.authorization_endpoint.url().clone();
    {
        let mut q = url.query_pairs_mut();
        for (name, value) in &s.settings.upstream_params {
            q.append_pair(name, value);
        }
        q.append_pair("client_id", &s.settings.client_id)
            .append_pair("redirect_uri", upstream.redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", &s.settings.scope)
            .append_pair("state", upstream_state)
            .append_pair("nonce", &nonce);
        if let Some(verifier) = &code_verifier {
            q.append_pair("code_challenge", &s256(verifier))
                .append_pair("code_challenge_method", "S256");
        }
    }
    Ok(Authorization {
        url: url.into(),
        memo: LoginMemo {
            nonce: Some(nonce),
            code_verifier,
            issuer: Some(metadata.issuer.clone()),
        },
    })
}

async fn exchange(
    upstream: Upstream<'_>,
    callback: &Callback<'_>,
    memo: &LoginMemo,
) -> Result<UpstreamTokens, UpstreamError> {
    let s = state(&upstream);
    let metadata = s.discovered.metadata(upstream.http, &s.settings).await?;
    let mix_up = |description: &str| {
        UpstreamError::new(LoginStep::Callback, UpstreamFailure::BadAnswer, description)
    };
    // An oidc login always remembers where it was sent; a memo without it is not this login's.
    let (Some(expected), Some(_)) = (memo.issuer.as_deref(), memo.nonce.as_deref()) else {
        return Err(mix_up("the login's memo lacks its issuer or nonce"));
    };
    // RFC 9207: a provider that names itself on the callback must be the one the login was
    // sent to, or the code came from another provider (a mix-up attack) and is not sent on;
    // one that says it always names itself must have.
    match callback.iss {
        Some(iss) if iss != expected => {
            return Err(mix_up(
                "the callback's iss is not the issuer this login was sent to (mix-up)",
            ))
        }
        None if metadata.sends_iss => {
            return Err(mix_up(
                "the callback has no iss, though the provider says it always sends one (mix-up)",
            ))
        }
        _ => {}
    }
    // The configured method, else what discovery advertises; the spec's default is Basic.
    let auth = s.settings.auth.unwrap_or_else(|| {
        let advertised = &metadata.token_endpoint_auth_methods;
        if !advertised.iter().any(|m| m == "client_secret_basic")
            && advertised.iter().any(|m| m == "client_secret_post")
        {
            ClientAuth::Post
        } else {
            ClientAuth::Basic
        }
    });
    code_exchange::exchange(
        upstream.http,
        CodeExchange {
            token_url: metadata.token_endpoint.as_str(),
            client_id: &s.settings.client_id,
            client_secret: &upstream.config.client_secret,
            auth,
            redirect_uri: upstream.redirect_uri,
            code: callback.code,
            code_verifier: memo.code_verifier.as_deref(),
            headers: &[],
            upstream_name: "the provider",
        },
    )
    .await
}

async fn profile(
    upstream: Upstream<'_>,
    tokens: &UpstreamTokens,
    memo: &LoginMemo,
) -> Result<NormalizedProfile, UpstreamError> {
    let s = state(&upstream);
    let Some(id_token) = &tokens.id_token else {
        return Err(UpstreamError::new(
            LoginStep::IdTokenValidation,
            UpstreamFailure::BadAnswer,
            "the provider's token answer has no id_token (is the openid scope allowed?)",
        ));
    };
    let metadata = s.discovered.metadata(upstream.http, &s.settings).await?;
    let mut claims = id_token::validate(
        upstream.http,
        &s.discovered,
        &metadata,
        &s.settings.client_id,
        memo.nonce.as_deref(),
        id_token.expose_secret(),
    )
    .await?;
    if s.settings.fetch_userinfo {
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let extra = profile::userinfo(upstream.http, &metadata, tokens, &sub).await?;
        claims.extend(extra);
    }
    Ok(profile::normalize(&s.settings, upstream.connection, claims))
}

impl Strategy for Oidc {
    fn name(&self) -> &'static str {
        "oidc"
    }

    fn display_name(&self) -> &'static str {
        "OpenID Connect"
    }

    fn chooser_label(&self) -> &'static str {
        "Any OpenID Connect provider"
    }

    fn registration(&self) -> &'static str {
        "Register a web application (a confidential client using the authorization code flow) at the provider, with the callback URL below as its redirect URI, and copy its client ID and secret."
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
        let settings = options::settings(options)?;
        Ok(UpstreamConfig::new(
            settings.client_id.clone(),
            client_secret,
            options.clone(),
            OidcState {
                discovered: discovered_for(&settings),
                settings,
            },
        ))
    }

    fn authorize<'a>(
        &'a self,
        upstream: Upstream<'a>,
        state: &'a str,
    ) -> BoxFuture<'a, Result<Authorization, UpstreamError>> {
        Box::pin(authorize(upstream, state))
    }

    fn exchange_code<'a>(
        &'a self,
        upstream: Upstream<'a>,
        callback: &'a Callback<'a>,
        memo: &'a LoginMemo,
    ) -> BoxFuture<'a, Result<UpstreamTokens, UpstreamError>> {
        Box::pin(exchange(upstream, callback, memo))
    }

    fn fetch_profile<'a>(
        &'a self,
        upstream: Upstream<'a>,
        tokens: &'a UpstreamTokens,
        memo: &'a LoginMemo,
    ) -> BoxFuture<'a, Result<NormalizedProfile, UpstreamError>> {
        Box::pin(profile(upstream, tokens, memo))
    }

    fn summary(&self, options: &Value) -> String {
        let text = |k: &str| options.get(k).and_then(Value::as_str).map(str::to_owned);
        text("issuer")
            .or_else(|| {
                text("discovery_url").map(|d| {
                    d.trim_end_matches("/.well-known/openid-configuration")
                        .to_owned()
                })
            })
            .unwrap_or_else(|| "OpenID Connect".to_owned())
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
            .expect("the oidc options schema is JSON")
    }
}
