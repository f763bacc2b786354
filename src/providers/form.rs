//! What a strategy's part of the dashboard's connection form works with: the posted fields as
//! text, and the view its template renders (values, errors keyed by option name, whether a
//! secret is stored). The page around it (name, button text, callback URL) is the dashboard's.

use std::collections::BTreeMap;

use serde_json::Value;

/// A form's fields as posted (or as shown): field name to text. A checkbox is present when
/// checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormValues(BTreeMap<String, String>);

impl FormValues {
    /// The posted pairs; a repeated field keeps its last value.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        FormValues(pairs.into_iter().collect())
    }

    pub fn get(&self, field: &str) -> &str {
        self.0.get(field).map(String::as_str).unwrap_or("")
    }

    /// The field's text, trimmed, or `None` when empty.
    pub fn text(&self, field: &str) -> Option<&str> {
        Some(self.get(field).trim()).filter(|s| !s.is_empty())
    }

    pub fn checked(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    pub fn set(&mut self, field: &str, value: impl Into<String>) {
        self.0.insert(field.to_owned(), value.into());
    }

    pub fn remove(&mut self, field: &str) {
        self.0.remove(field);
    }

    /// Copies the string (or boolean, as a checkbox) options named in `fields`.
    pub fn from_options(options: &Value, fields: &[&str]) -> Self {
        let mut values = FormValues::default();
        for field in fields {
            match options.get(*field) {
                Some(Value::String(s)) => values.set(field, s.clone()),
                Some(Value::Bool(true)) => values.set(field, "on"),
                _ => {}
            }
        }
        values
    }
}

/// What a strategy's form template is given.
pub struct FormView<'a> {
    pub values: &'a FormValues,
    /// Error messages by option name (`client_id`, `discovery_url`, ...).
    pub errors: &'a BTreeMap<String, String>,
    /// Whether the stored connection has a client secret (it is never shown).
    pub secret_set: bool,
    /// The form came back with errors and had a secret typed in, which is never sent back to
    /// the browser: the template asks for it again.
    pub secret_to_retype: bool,
    pub editable: bool,
}

impl FormView<'_> {
    pub fn value(&self, field: &str) -> &str {
        self.values.get(field)
    }

    pub fn checked(&self, field: &str) -> bool {
        self.values.checked(field)
    }

    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }

    /// `aria-invalid` and `aria-describedby` for a field with an error, else nothing.
    pub fn invalid(&self, field: &str) -> String {
        match self.errors.contains_key(field) {
            true => format!(" aria-invalid=\"true\" aria-describedby=\"{field}-error\""),
            false => String::new(),
        }
    }
}

/// The start of the options a posted form means: the stored options named in `kept` (the
/// ones the form does not show, which the API may have set), then the client id, and the client
/// secret only when one was typed (an empty field keeps the stored one).
pub fn options_over(
    stored: Option<&Value>,
    kept: &[&str],
    form: &FormValues,
) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    if let Some(Value::Object(stored)) = stored {
        for key in kept {
            if let Some(v) = stored.get(*key) {
                map.insert((*key).to_owned(), v.clone());
            }
        }
    }
    map.insert(
        "client_id".into(),
        Value::from(form.get("client_id").trim()),
    );
    if let Some(secret) = form.text("client_secret") {
        map.insert("client_secret".into(), Value::from(secret));
    }
    map
}

/// One option of a select.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The choices of `list` (value, label), `current` selected.
pub fn choices(list: &[(&str, &str)], current: &str) -> Vec<Choice> {
    list.iter()
        .map(|(value, label)| Choice {
            value: (*value).to_owned(),
            label: (*label).to_owned(),
            selected: *value == current,
        })
        .collect()
}

/// `set_user_root_attributes`, which every strategy has: when a login updates the user's name
/// and e-mail.
pub const ROOT_ATTRIBUTE_POLICIES: &[(&str, &str)] = &[
    ("on_each_login", "On each login"),
    ("on_first_login", "On first login only"),
    ("never_on_login", "Never (only when the user is created)"),
];

/// The option a field error is about, as the form's errors are keyed: `options.scope` is
/// `scope`, `options.upstream_params.prompt` is `upstream_params`; anything else is the form's.
pub fn option_of_error(field: &str) -> &str {
    match field.strip_prefix("options.") {
        Some(rest) => rest
            .split(['.', '['])
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or("form"),
        None => field,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_keyed_by_the_top_option() {
        assert_eq!(option_of_error("options.client_id"), "client_id");
        assert_eq!(
            option_of_error("options.upstream_params.prompt"),
            "upstream_params"
        );
        assert_eq!(option_of_error("options.profile_map[0]"), "profile_map");
        assert_eq!(option_of_error("name"), "name");
    }

    #[test]
    fn values_read_options_and_checkboxes() {
        let v = FormValues::from_options(
            &serde_json::json!({"client_id": "c", "pkce_enabled": true, "x": false}),
            &["client_id", "pkce_enabled", "x"],
        );
        assert_eq!(v.get("client_id"), "c");
        assert!(v.checked("pkce_enabled") && !v.checked("x"));
        assert_eq!(v.text("missing"), None);
    }
}
