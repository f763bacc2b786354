//! Reading a strategy's options into its typed struct: serde does the work (the struct denies
//! unknown fields), and the error names the field, as `options.<path>`, with a sentence an
//! operator can act on.

use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::domain::FieldError;

/// Deserialises `options` into `T`, naming the field that is unknown or of the wrong type.
pub fn parse<T: DeserializeOwned>(strategy: &str, options: &Value) -> Result<T, FieldError> {
    if !options.is_object() {
        return Err(FieldError::new("options", "must be an object"));
    }
    serde_path_to_error::deserialize::<_, T>(options).map_err(|e| {
        let message = e.inner().to_string();
        let path = e.path().to_string();
        let at = |field: &str| match path.as_str() {
            "." | "" => format!("options.{field}"),
            parent => format!("options.{parent}.{field}"),
        };
        if quoted(&message, "unknown field `").is_some() {
            // The path already ends with the unknown field's name.
            let shown: String = path.chars().take(128).collect();
            return FieldError::new(
                format!("options.{shown}"),
                format!("is not an option of the {strategy} strategy"),
            );
        }
        if let Some(missing) = quoted(&message, "missing field `") {
            return FieldError::new(at(missing), "is required");
        }
        let field = match path.as_str() {
            "." | "" => "options".to_owned(),
            p => format!("options.{p}"),
        };
        // serde's "invalid type: integer `5`, expected a string": the part after "expected" is
        // the rule; the value itself is not repeated back.
        let rule = message
            .split_once(", expected ")
            .map(|(_, expected)| format!("must be {}", trim_position(expected)))
            .unwrap_or_else(|| trim_position(&message).to_owned());
        FieldError::new(field, rule)
    })
}

/// The name in `` prefix`name` `` of a serde message, cut to a length safe to echo.
fn quoted<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?;
    let name = rest.split('`').next()?;
    Some(
        &name[..name
            .char_indices()
            .nth(64)
            .map(|(i, _)| i)
            .unwrap_or(name.len())],
    )
}

/// serde_json appends " at line 1 column 5" to some messages; a JSON value has no lines.
fn trim_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

/// A text option: trimmed, at most `max` characters, `None` when empty.
pub fn text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, FieldError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.chars().count() > max => Err(FieldError::new(
            format!("options.{field}"),
            format!("must be at most {max} characters"),
        )),
        Some(s) if s.chars().any(char::is_control) => Err(FieldError::new(
            format!("options.{field}"),
            "must not contain control characters",
        )),
        Some(s) => Ok(Some(s.to_owned())),
    }
}

/// `upstream_params`: extra authorize parameters, each `{"value": "..."}` (Auth0's shape) or
/// a plain string; at most 20, names and values of at most 256 characters. Parameters the
/// login itself sets cannot be overridden.
pub fn upstream_params(params: Option<&Value>) -> Result<Vec<(String, String)>, FieldError> {
    const RESERVED: &[&str] = &[
        "client_id",
        "redirect_uri",
        "response_type",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "scope",
    ];
    let Some(params) = params.filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let field = "options.upstream_params";
    let Some(map) = params.as_object() else {
        return Err(FieldError::new(field, "must be an object"));
    };
    if map.len() > 20 {
        return Err(FieldError::new(field, "must have at most 20 parameters"));
    }
    let mut out = Vec::with_capacity(map.len());
    for (name, value) in map {
        let value = match value {
            Value::String(s) => s.as_str(),
            Value::Object(o) => match o.get("value") {
                Some(Value::String(s)) => s.as_str(),
                _ => {
                    return Err(FieldError::new(
                        format!("{field}.{}", truncate(name)),
                        "must be {\"value\": \"...\"} or a string",
                    ))
                }
            },
            _ => {
                return Err(FieldError::new(
                    format!("{field}.{}", truncate(name)),
                    "must be {\"value\": \"...\"} or a string",
                ))
            }
        };
        if name.is_empty() || name.len() > 256 || value.len() > 256 {
            return Err(FieldError::new(
                field,
                "names and values must be 1 to 256 characters",
            ));
        }
        if RESERVED.contains(&name.as_str()) {
            return Err(FieldError::new(
                format!("{field}.{name}"),
                "is set by the login itself and cannot be overridden",
            ));
        }
        out.push((name.clone(), value.to_owned()));
    }
    Ok(out)
}

/// The write-only client secret taken out of the options (`Option::take`), validated; required
/// unless the stored connection has one to keep.
pub fn take_secret(
    secret: &mut Option<String>,
    has_stored_secret: bool,
) -> Result<Option<SecretString>, FieldError> {
    let taken = text("client_secret", secret.take().as_deref(), 1024)?;
    if taken.is_none() && !has_stored_secret {
        return Err(FieldError::new(
            "options.client_secret",
            "is required (the client secret the provider gave the app)",
        ));
    }
    Ok(taken.map(SecretString::from))
}

/// The public options to store: the typed options as JSON, the secret already taken out.
pub fn public<T: serde::Serialize>(typed: &T) -> Value {
    serde_json::to_value(typed).unwrap_or_else(|_| Value::Object(Default::default()))
}

/// `set_user_root_attributes`, which every strategy has.
pub fn root_attributes_policy(policy: Option<&str>) -> Result<(), FieldError> {
    match policy {
        None | Some("on_each_login" | "on_first_login" | "never_on_login") => Ok(()),
        Some(_) => Err(FieldError::new(
            "options.set_user_root_attributes",
            "must be one of on_each_login, on_first_login, never_on_login",
        )),
    }
}

/// `non_persistent_attrs`: at most 50 attribute names of 1 to 64 characters.
pub fn attribute_names(names: Option<&Vec<String>>) -> Result<Vec<String>, FieldError> {
    let names = names.cloned().unwrap_or_default();
    if names.len() > 50 || names.iter().any(|a| a.is_empty() || a.len() > 64) {
        return Err(FieldError::new(
            "options.non_persistent_attrs",
            "must be a list of at most 50 attribute names",
        ));
    }
    Ok(names)
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        client_id: String,
        #[serde(default)]
        nested: Option<Nested>,
    }

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Nested {
        pkce: Option<bool>,
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse::<Sample>("oidc", &json!({"client_id": "a", "bogus": 1})).unwrap_err();
        assert_eq!(e.field, "options.bogus");
        assert!(e.message.contains("oidc strategy"));
        let e = parse::<Sample>("oidc", &json!({})).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("options.client_id", "is required")
        );
        let e = parse::<Sample>("oidc", &json!({"client_id": 5})).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("options.client_id", "must be a string")
        );
        let e = parse::<Sample>(
            "oidc",
            &json!({"client_id": "a", "nested": {"pkce": "yes"}}),
        )
        .unwrap_err();
        assert_eq!(e.field, "options.nested.pkce");
        let e =
            parse::<Sample>("oidc", &json!({"client_id": "a", "nested": {"x": 1}})).unwrap_err();
        assert_eq!(e.field, "options.nested.x");
        assert_eq!(
            parse::<Sample>("oidc", &json!([])).unwrap_err().field,
            "options"
        );
    }

    #[test]
    fn upstream_params_take_both_shapes_and_keep_reserved_names() {
        let p = upstream_params(Some(
            &json!({"prompt": {"value": "login"}, "hd": "acme.com"}),
        ))
        .unwrap();
        assert_eq!(p.len(), 2);
        let e = upstream_params(Some(&json!({"redirect_uri": "https://evil"}))).unwrap_err();
        assert_eq!(e.field, "options.upstream_params.redirect_uri");
        assert!(upstream_params(Some(&json!({"x": 5}))).is_err());
    }
}
