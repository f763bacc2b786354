//! The `oauth2` strategy: any OAuth 2.0 provider that is not OpenID Connect (Auth0's custom
//! social connection). The code flow (PKCE when enabled), then the profile read from a URL with
//! the access token and mapped by JSON pointers. The user id is `oauth2|{connection}|{id}`; an
//! answer without the id is a failed login at the profile step, never a user with an empty id.

mod form;
mod options;

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::code_exchange::{self, CodeExchange};
use super::{
    Authorization, Callback, FormValues, FormView, HealthFacts, LoginMemo, LoginStep,
    NormalizedProfile, ParsedOptions, Strategy, Upstream, UpstreamConfig, UpstreamError,
    UpstreamTokens,
};
use crate::crypto::random::{opaque_token, s256};
use crate::db::users::RootAttributes;
use crate::domain::FieldError;
use options::Settings;

pub struct OAuth2;

fn settings<'a>(upstream: &Upstream<'a>) -> &'a Settings {
    upstream.config.settings()
}

fn authorize(upstream: Upstream<'_>, state: &str) -> Authorization {
    let s = settings(&upstream);
    let code_verifier = s.pkce.then(|| opaque_token(48));
    let mut url = s.authorization_url.url().clone();
    {
        let mut q = url.query_pairs_mut();
        for (name, value) in &s.params {
            q.append_pair(name, value);
        }
        q.append_pair("client_id", &s.client_id)
            .append_pair("redirect_uri", upstream.redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("state", state);
        if let Some(scope) = &s.scope {
            q.append_pair("scope", scope);
        }
        if let Some(verifier) = &code_verifier {
            q.append_pair("code_challenge", &s256(verifier))
                .append_pair("code_challenge_method", "S256");
        }
    }
    Authorization {
        url: url.into(),
        memo: LoginMemo {
            code_verifier,
            ..LoginMemo::default()
        },
    }
}

/// The text at `pointer` in the answer: strings as they are, numbers and booleans written out
/// (a numeric id is common), anything else absent.
fn pointed(answer: &Value, pointer: &str) -> Option<String> {
    match answer.pointer(pointer)? {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
    .map(|s| s.chars().take(512).collect())
}

/// Maps a profile answer with the connection's pointers.
fn normalize(
    s: &Settings,
    connection: &str,
    answer: Value,
) -> Result<NormalizedProfile, &'static str> {
    let field = |name: &str| {
        s.profile_map
            .iter()
            .find(|(f, _)| f == name)
            .and_then(|(_, p)| pointed(&answer, p))
    };
    let Some(id) = field("user_id") else {
        return Err("the profile answer has no user id at the profile map's user_id pointer");
    };
    if id.len() > 255 || id.chars().any(char::is_control) {
        return Err("the profile answer's user id is not usable (too long or control characters)");
    }
    let root = RootAttributes {
        email: field("email"),
        email_verified: field("email_verified").as_deref() == Some("true"),
        name: field("name"),
        nickname: field("nickname"),
        given_name: field("given_name"),
        family_name: field("family_name"),
        picture: field("picture"),
        locale: field("locale"),
    };
    let mut profile_data = match answer {
        Value::Object(map) => map,
        _ => Default::default(),
    };
    for key in &s.non_persistent_attrs {
        profile_data.remove(key);
    }
    Ok(NormalizedProfile {
        user_id: format!("oauth2|{connection}|{id}"),
        provider_user_id: id,
        root,
        profile_data: Value::Object(profile_data),
    })
}

async fn profile(
    upstream: Upstream<'_>,
    tokens: &UpstreamTokens,
) -> Result<NormalizedProfile, UpstreamError> {
    let s = settings(&upstream);
    let step = LoginStep::ProfileFetch;
    let mut request = upstream
        .http
        .get(s.profile_url.as_str())
        .bearer_auth(tokens.access_token.expose_secret())
        .header(reqwest::header::ACCEPT, "application/json");
    for (name, value) in &s.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let secrets = [
        tokens.access_token.expose_secret(),
        upstream.config.client_secret.expose_secret(),
    ];
    let answer = upstream
        .http
        .fetch_json(request, step, "the profile request", &secrets)
        .await?;
    normalize(s, upstream.connection, answer.json.clone()).map_err(|why| answer.fail(why))
}

impl Strategy for OAuth2 {
    fn name(&self) -> &'static str {
        "oauth2"
    }

    fn display_name(&self) -> &'static str {
        "OAuth2"
    }

    fn chooser_label(&self) -> &'static str {
        "Any OAuth2 provider"
    }

    fn registration(&self) -> &'static str {
        "Register an OAuth app at the provider with the callback URL below as its redirect URI. Give its endpoints, and the URL where the user's profile is read with the access token."
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
            settings,
        ))
    }

    fn authorize<'a>(
        &'a self,
        upstream: Upstream<'a>,
        state: &'a str,
    ) -> BoxFuture<'a, Result<Authorization, UpstreamError>> {
        let authorization = authorize(upstream, state);
        Box::pin(async move { Ok(authorization) })
    }

    fn exchange_code<'a>(
        &'a self,
        upstream: Upstream<'a>,
        callback: &'a Callback<'a>,
        memo: &'a LoginMemo,
    ) -> BoxFuture<'a, Result<UpstreamTokens, UpstreamError>> {
        let s = settings(&upstream);
        Box::pin(code_exchange::exchange(
            upstream.http,
            CodeExchange {
                token_url: s.token_url.as_str(),
                client_id: &s.client_id,
                client_secret: &upstream.config.client_secret,
                auth: s.auth,
                redirect_uri: upstream.redirect_uri,
                code: callback.code,
                code_verifier: memo.code_verifier.as_deref(),
                headers: &s.headers,
                upstream_name: "the provider",
            },
        ))
    }

    fn fetch_profile<'a>(
        &'a self,
        upstream: Upstream<'a>,
        tokens: &'a UpstreamTokens,
        _memo: &'a LoginMemo,
    ) -> BoxFuture<'a, Result<NormalizedProfile, UpstreamError>> {
        Box::pin(profile(upstream, tokens))
    }

    fn summary(&self, options: &Value) -> String {
        options
            .get("authorizationURL")
            .and_then(Value::as_str)
            .and_then(|u| url::Url::parse(u).ok())
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "OAuth2".to_owned())
    }

    fn hints(&self, facts: &HealthFacts<'_>) -> Vec<String> {
        let mut hints = Vec::new();
        match facts.last_step {
            Some("profile_fetch") => hints.push(format!(
                "The profile step failed: {}. Check the profile URL and that the profile map's user_id pointer names the id in its answer.",
                facts.last_description
            )),
            Some("upstream_token_exchange") if matches!(facts.last_status, Some(400 | 401)) => hints.push(format!(
                "The provider refused the code exchange. Check the client ID and secret, the token URL, and that {} is registered as the redirect URI.",
                facts.callback_url
            )),
            _ => {}
        }
        if facts.abandoned_without_success {
            hints.push(format!(
                "Users are sent to the provider but never come back. Register {} as the app's redirect URI at the provider.",
                facts.callback_url
            ));
        }
        hints
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
            .expect("the oauth2 options schema is JSON")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_profile_without_the_id_is_a_failure_not_an_empty_user() {
        let s = options::settings(
            &json!({"client_id": "c", "authorizationURL": "https://p.example/a",
            "tokenURL": "https://p.example/t", "profile_url": "https://p.example/me",
            "profile_map": {"user_id": "/data/id", "email": "/data/mail"}}),
        )
        .unwrap();
        let p = normalize(&s, "gh", json!({"data": {"id": 42, "mail": "a@b.example"}})).unwrap();
        assert_eq!(p.user_id, "oauth2|gh|42");
        assert_eq!(p.root.email.as_deref(), Some("a@b.example"));
        assert!(!p.root.email_verified);
        assert!(normalize(&s, "gh", json!({"data": {"id": ""}})).is_err());
        assert!(normalize(&s, "gh", json!({"data": {}})).is_err());
        assert!(normalize(&s, "gh", json!([1])).is_err());
    }
}
