//! The options of an Exact connection: what an operator may send (validated field by field, the
//! secret split off for sealing) and reading the stored ones back for a login.

use secrecy::SecretString;
use serde_json::{json, Map, Value};

use super::sites::DEFAULT_BASE_URL;
use crate::domain::{BaseUrl, FieldError};
use crate::providers::{ParsedOptions, UpstreamConfig};

/// What an Exact login uses of a connection's options, parsed once.
pub(super) struct ExactSettings {
    pub base_url: BaseUrl,
    pub force_login: Option<String>,
}

fn default_base_url() -> BaseUrl {
    BaseUrl::parse("options.baseUrl", DEFAULT_BASE_URL).expect("the default Exact site is valid")
}

const KNOWN_OPTIONS: &[&str] = &[
    "client_id",
    "client_secret",
    "baseUrl",
    "profile",
    "set_user_root_attributes",
    "upstream_params",
    "non_persistent_attrs",
    "scope",
];
pub const ROOT_ATTRIBUTE_POLICIES: &[&str] = &["on_each_login", "on_first_login", "never_on_login"];
const MAX_OPTION_TEXT: usize = 256;

/// Validates the options an operator sent; `has_stored_secret` lets an update leave the
/// client secret out and keep the one stored.
pub(super) fn parse(options: &Value, has_stored_secret: bool) -> Result<ParsedOptions, FieldError> {
    let Some(map) = options.as_object() else {
        return Err(FieldError::new("options", "must be an object"));
    };
    if let Some(unknown) = map.keys().find(|k| !KNOWN_OPTIONS.contains(&k.as_str())) {
        return Err(FieldError::new(
            format!("options.{}", unknown.chars().take(64).collect::<String>()),
            "is not an option of the exact strategy",
        ));
    }
    let mut public = Map::new();

    let client_id = text_option(map, "client_id")?.ok_or_else(|| {
        FieldError::new(
            "options.client_id",
            "is required (the client id of your Exact App Center app)",
        )
    })?;
    public.insert("client_id".into(), json!(client_id));

    let client_secret = text_option(map, "client_secret")?.map(SecretString::from);
    if client_secret.is_none() && !has_stored_secret {
        return Err(FieldError::new(
            "options.client_secret",
            "is required (the client secret of your Exact App Center app)",
        ));
    }

    let base_url = match map.get("baseUrl") {
        None | Some(Value::Null) => default_base_url(),
        Some(Value::String(s)) if s.trim().is_empty() => default_base_url(),
        Some(Value::String(s)) => BaseUrl::parse("options.baseUrl", s)?,
        Some(_) => return Err(FieldError::new("options.baseUrl", "must be a string")),
    };
    public.insert("baseUrl".into(), json!(base_url.as_str()));

    let profile = match map.get("profile") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(FieldError::new("options.profile", "must be true or false")),
    };
    public.insert("profile".into(), json!(profile));

    let policy = match map.get("set_user_root_attributes") {
        None | Some(Value::Null) => "on_each_login",
        Some(Value::String(s)) if ROOT_ATTRIBUTE_POLICIES.contains(&s.as_str()) => s.as_str(),
        Some(_) => {
            return Err(FieldError::new(
                "options.set_user_root_attributes",
                "must be one of on_each_login, on_first_login, never_on_login",
            ))
        }
    };
    public.insert("set_user_root_attributes".into(), json!(policy));

    if let Some(params) = map.get("upstream_params").filter(|v| !v.is_null()) {
        let Some(obj) = params.as_object() else {
            return Err(FieldError::new(
                "options.upstream_params",
                "must be an object",
            ));
        };
        for (k, v) in obj {
            if k != "force_login" {
                return Err(FieldError::new(
                    format!(
                        "options.upstream_params.{}",
                        k.chars().take(64).collect::<String>()
                    ),
                    "is not a parameter Exact accepts (only force_login)",
                ));
            }
            let value = v.get("value").unwrap_or(v);
            if !matches!(value.as_str(), Some("0" | "1")) {
                return Err(FieldError::new(
                    "options.upstream_params.force_login",
                    "must be {\"value\": \"0\"} or {\"value\": \"1\"}",
                ));
            }
        }
        public.insert("upstream_params".into(), params.clone());
    }

    if let Some(attrs) = map.get("non_persistent_attrs").filter(|v| !v.is_null()) {
        let list = attrs.as_array().filter(|a| {
            a.len() <= 50
                && a.iter()
                    .all(|v| v.as_str().is_some_and(|s| !s.is_empty() && s.len() <= 64))
        });
        if list.is_none() {
            return Err(FieldError::new(
                "options.non_persistent_attrs",
                "must be a list of at most 50 attribute names",
            ));
        }
        public.insert("non_persistent_attrs".into(), attrs.clone());
    }
    if let Some(scope) = map.get("scope").filter(|v| !v.is_null()) {
        let strings = scope
            .as_array()
            .is_some_and(|items| items.iter().all(Value::is_string));
        if !strings && !scope.is_string() {
            return Err(FieldError::new(
                "options.scope",
                "must be a string or a list of strings",
            ));
        }
        public.insert("scope".into(), scope.clone());
    }

    Ok(ParsedOptions {
        public: Value::Object(public),
        client_secret,
    })
}

/// The stored (already validated) options of a connection, with its unsealed secret, as a login
/// uses them.
pub(super) fn upstream_config(
    options: &Value,
    client_secret: SecretString,
) -> Result<UpstreamConfig, FieldError> {
    let client_id = options
        .get("client_id")
        .and_then(Value::as_str)
        .ok_or_else(|| FieldError::new("options.client_id", "is missing"))?;
    let base_url = match options.get("baseUrl").and_then(Value::as_str) {
        Some(s) => BaseUrl::parse("options.baseUrl", s)?,
        None => default_base_url(),
    };
    let force_login = options
        .pointer("/upstream_params/force_login")
        .and_then(|v| v.get("value").unwrap_or(v).as_str())
        .map(str::to_owned);
    Ok(UpstreamConfig::new(
        client_id.to_owned(),
        client_secret,
        options.clone(),
        ExactSettings {
            base_url,
            force_login,
        },
    ))
}

fn text_option(map: &Map<String, Value>, key: &str) -> Result<Option<String>, FieldError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.len() > MAX_OPTION_TEXT || s.chars().any(char::is_control) => {
            Err(FieldError::new(
                format!("options.{key}"),
                format!("must be at most {MAX_OPTION_TEXT} characters without control characters"),
            ))
        }
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(FieldError::new(
            format!("options.{key}"),
            "must be a string",
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::Exact;
    use crate::providers::Strategy;

    #[test]
    fn options_require_credentials_and_default_the_rest() {
        let parsed = Exact
            .parse_options(&json!({"client_id": "abc", "client_secret": "s"}), false)
            .unwrap();
        assert_eq!(parsed.public["baseUrl"], "https://start.exactonline.nl");
        assert_eq!(parsed.public["set_user_root_attributes"], "on_each_login");
        assert!(parsed.public.get("client_secret").is_none());
        assert!(parsed.client_secret.is_some());

        let err = Exact
            .parse_options(&json!({"client_id": "abc"}), false)
            .unwrap_err();
        assert_eq!(err.field, "options.client_secret");
        assert!(Exact
            .parse_options(&json!({"client_id": "abc"}), true)
            .is_ok());
    }

    #[test]
    fn bad_options_name_their_field() {
        for (options, field) in [
            (json!([]), "options"),
            (json!({"client_secret": "s"}), "options.client_id"),
            (
                json!({"client_id": 5, "client_secret": "s"}),
                "options.client_id",
            ),
            (
                json!({"client_id": "a", "client_secret": "s", "baseUrl": "http://evil.example"}),
                "options.baseUrl",
            ),
            (
                json!({"client_id": "a", "client_secret": "s", "set_user_root_attributes": "sometimes"}),
                "options.set_user_root_attributes",
            ),
            (
                json!({"client_id": "a", "client_secret": "s", "profile": "yes"}),
                "options.profile",
            ),
            (
                json!({"client_id": "a", "client_secret": "s", "surprise": 1}),
                "options.surprise",
            ),
            (
                json!({"client_id": "x".repeat(300), "client_secret": "s"}),
                "options.client_id",
            ),
            (
                json!({"client_id": "a", "client_secret": "s", "upstream_params": {"prompt": {"value": "x"}}}),
                "options.upstream_params.prompt",
            ),
        ] {
            assert_eq!(
                Exact.parse_options(&options, false).unwrap_err().field,
                field,
                "{options}"
            );
        }
    }
}
