//! The options of an `oauth2` connection, in Auth0's custom social shape, with a declarative
//! profile source (a URL and JSON pointers) where Auth0 runs a `fetchUserProfile` script.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{FieldError, UpstreamUrl};
use crate::providers::code_exchange::ClientAuth;
use crate::providers::typed_options::{self, text};
use crate::providers::ParsedOptions;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OAuth2Options {
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing)]
    pub client_secret: Option<String>,
    #[serde(default, rename = "authorizationURL")]
    pub authorization_url: Option<String>,
    #[serde(default, rename = "tokenURL")]
    pub token_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkce_enabled: Option<bool>,
    #[serde(
        default,
        rename = "customHeaders",
        skip_serializing_if = "Option::is_none"
    )]
    pub custom_headers: Option<BTreeMap<String, String>>,
    #[serde(
        default,
        rename = "authParams",
        skip_serializing_if = "Option::is_none"
    )]
    pub auth_params: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_params: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    pub profile_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_map: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_user_root_attributes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_persistent_attrs: Option<Vec<String>>,
}

/// The profile fields a pointer can fill; `user_id` is required.
pub(super) const PROFILE_FIELDS: &[&str] = &[
    "user_id",
    "email",
    "email_verified",
    "name",
    "nickname",
    "given_name",
    "family_name",
    "picture",
    "locale",
];

/// Headers the connection may not set: they are the request's own.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "authorization",
    "transfer-encoding",
    "connection",
];

#[derive(Debug)]
pub(super) struct Settings {
    pub client_id: String,
    pub authorization_url: UpstreamUrl,
    pub token_url: UpstreamUrl,
    pub profile_url: UpstreamUrl,
    pub scope: Option<String>,
    pub pkce: bool,
    pub headers: Vec<(String, String)>,
    pub params: Vec<(String, String)>,
    pub auth: ClientAuth,
    /// Profile field → JSON pointer.
    pub profile_map: Vec<(String, String)>,
    pub non_persistent_attrs: Vec<String>,
}

fn required_url(field: &str, value: Option<&str>, what: &str) -> Result<UpstreamUrl, FieldError> {
    match value.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => UpstreamUrl::parse(&format!("options.{field}"), s),
        None => Err(FieldError::new(
            format!("options.{field}"),
            format!("is required ({what})"),
        )),
    }
}

/// A JSON pointer (RFC 6901): empty, or `/`-separated tokens with `~0`/`~1` escapes.
fn valid_pointer(p: &str) -> bool {
    p.len() <= 256
        && (p.is_empty() || p.starts_with('/'))
        && !p.chars().any(char::is_control)
        && p.match_indices('~')
            .all(|(i, _)| matches!(p.as_bytes().get(i + 1), Some(b'0' | b'1')))
}

pub(super) fn validate(o: &OAuth2Options) -> Result<Settings, FieldError> {
    let client_id = text("client_id", o.client_id.as_deref(), 256)?.ok_or_else(|| {
        FieldError::new(
            "options.client_id",
            "is required (the client id the provider gave the app)",
        )
    })?;
    let authorization_url = required_url(
        "authorizationURL",
        o.authorization_url.as_deref(),
        "the provider's authorize endpoint",
    )?;
    let token_url = required_url(
        "tokenURL",
        o.token_url.as_deref(),
        "the provider's token endpoint",
    )?;
    let profile_url = required_url(
        "profile_url",
        o.profile_url.as_deref(),
        "where the user's profile is read with the access token",
    )?;
    let scope = match &o.scope {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Some(_) => {
            return Err(FieldError::new(
                "options.scope",
                "must be a string or a list of strings",
            ))
        }
    };
    if scope
        .as_ref()
        .is_some_and(|s| s.len() > 1024 || s.chars().any(char::is_control))
    {
        return Err(FieldError::new(
            "options.scope",
            "must be at most 1024 characters",
        ));
    }
    let mut headers = Vec::new();
    for (name, value) in o.custom_headers.iter().flatten() {
        let field = format!(
            "options.customHeaders.{}",
            name.chars().take(64).collect::<String>()
        );
        if reqwest::header::HeaderName::try_from(name.as_str()).is_err()
            || reqwest::header::HeaderValue::try_from(value.as_str()).is_err()
            || value.len() > 1024
        {
            return Err(FieldError::new(
                field,
                "must be a valid header name and value",
            ));
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(FieldError::new(
                field,
                "is set by Gatehouse and cannot be overridden",
            ));
        }
        headers.push((name.clone(), value.clone()));
    }
    if headers.len() > 20 {
        return Err(FieldError::new(
            "options.customHeaders",
            "must have at most 20 headers",
        ));
    }
    let mut params = typed_options::upstream_params(o.upstream_params.as_ref())?;
    let auth_params = o.auth_params.clone().unwrap_or_default();
    let as_value = Value::Object(
        auth_params
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    );
    params.extend(
        typed_options::upstream_params(Some(&as_value)).map_err(|e| {
            FieldError::new(e.field.replace("upstream_params", "authParams"), e.message)
        })?,
    );
    let auth = match o.token_endpoint_auth_method.as_deref() {
        None | Some("client_secret_post") => ClientAuth::Post,
        Some("client_secret_basic") => ClientAuth::Basic,
        Some(_) => {
            return Err(FieldError::new(
                "options.token_endpoint_auth_method",
                "must be client_secret_post or client_secret_basic",
            ))
        }
    };
    let map = o.profile_map.clone().unwrap_or_else(|| {
        [("user_id", "/id"), ("email", "/email"), ("name", "/name")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    });
    if !map.contains_key("user_id") {
        return Err(FieldError::new(
            "options.profile_map.user_id",
            "is required: the JSON pointer to the user's id in the profile answer, such as /id",
        ));
    }
    let mut profile_map = Vec::new();
    for (field, pointer) in map {
        let at = format!(
            "options.profile_map.{}",
            field.chars().take(64).collect::<String>()
        );
        if !PROFILE_FIELDS.contains(&field.as_str()) {
            return Err(FieldError::new(
                at,
                format!(
                    "is not a profile field (one of {})",
                    PROFILE_FIELDS.join(", ")
                ),
            ));
        }
        if !valid_pointer(&pointer) || pointer.is_empty() {
            return Err(FieldError::new(
                at,
                "must be a JSON pointer such as /id or /data/email",
            ));
        }
        profile_map.push((field, pointer));
    }
    typed_options::root_attributes_policy(o.set_user_root_attributes.as_deref())?;
    let non_persistent_attrs = typed_options::attribute_names(o.non_persistent_attrs.as_ref())?;
    Ok(Settings {
        client_id,
        authorization_url,
        token_url,
        profile_url,
        scope,
        pkce: o.pkce_enabled.unwrap_or(false),
        headers,
        params,
        auth,
        profile_map,
        non_persistent_attrs,
    })
}

pub(super) fn parse(options: &Value, has_stored_secret: bool) -> Result<ParsedOptions, FieldError> {
    let mut typed: OAuth2Options = typed_options::parse("oauth2", options)?;
    let settings = validate(&typed)?;
    let client_secret = typed_options::take_secret(&mut typed.client_secret, has_stored_secret)?;
    typed.profile_map = Some(settings.profile_map.into_iter().collect());
    typed
        .set_user_root_attributes
        .get_or_insert_with(|| "on_each_login".into());
    Ok(ParsedOptions {
        public: typed_options::public(&typed),
        client_secret,
    })
}

pub(super) fn settings(options: &Value) -> Result<Settings, FieldError> {
    validate(&typed_options::parse::<OAuth2Options>("oauth2", options)?)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn with(extra: Value) -> Result<ParsedOptions, FieldError> {
        let mut o = json!({"client_id": "c", "client_secret": "s", "authorizationURL": "https://p.example/authorize",
            "tokenURL": "https://p.example/token", "profile_url": "https://p.example/me"});
        o.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        parse(&o, false)
    }

    #[test]
    fn options_are_refused_field_by_field() {
        for (extra, field) in [
            (
                json!({"fetchUserProfile": "function(){}"}),
                "options.fetchUserProfile",
            ),
            (json!({"client_id": null}), "options.client_id"),
            (
                json!({"tokenURL": "http://p.example/token"}),
                "options.tokenURL",
            ),
            (json!({"profile_url": ""}), "options.profile_url"),
            (
                json!({"profile_map": {"user_id": "id"}}),
                "options.profile_map.user_id",
            ),
            (
                json!({"profile_map": {"user_id": "/a~2b"}}),
                "options.profile_map.user_id",
            ),
            (
                json!({"profile_map": {"email": "/mail"}}),
                "options.profile_map.user_id",
            ),
            (
                json!({"profile_map": {"user_id": "/id", "salary": "/pay"}}),
                "options.profile_map.salary",
            ),
            (
                json!({"customHeaders": {"Authorization": "Bearer x"}}),
                "options.customHeaders.Authorization",
            ),
            (
                json!({"customHeaders": {"X-Bad": "a\nb"}}),
                "options.customHeaders.X-Bad",
            ),
            (
                json!({"authParams": {"state": "fixed"}}),
                "options.authParams.state",
            ),
        ] {
            assert_eq!(with(extra.clone()).unwrap_err().field, field, "{extra}");
        }
    }

    #[test]
    fn a_default_profile_map_is_stored() {
        let parsed = with(json!({"scope": ["read", "email"]})).unwrap();
        assert_eq!(parsed.public["profile_map"]["user_id"], "/id");
        let s = settings(&parsed.public).unwrap();
        assert_eq!(s.scope.as_deref(), Some("read email"));
        assert!(valid_pointer("/a~0b/~1c") && !valid_pointer("a"));
    }
}
