//! The Exact part of the dashboard's connection form: credentials, the site (or a custom base
//! URL for a test server), whether to read the profile, and when to update the user.

use askama::Template;
use serde_json::{json, Value};

use super::sites::{DEFAULT_BASE_URL, SITES};
use crate::providers::form::{
    choices, options_over, Choice, FormValues, FormView, ROOT_ATTRIBUTE_POLICIES,
};

/// The value of the "custom URL" choice of the site list.
const CUSTOM: &str = "custom";

/// Options the form does not show but the API may have set: kept on save.
const KEPT_OPTIONS: &[&str] = &["upstream_params", "non_persistent_attrs", "scope"];

#[derive(Template)]
#[template(path = "dashboard/connections/strategies/exact.html")]
struct ExactForm<'a> {
    v: &'a FormView<'a>,
    sites: Vec<Choice>,
    policies: Vec<Choice>,
}

pub(super) fn values(options: &Value) -> FormValues {
    let mut values = FormValues::from_options(options, &["client_id", "set_user_root_attributes"]);
    let base_url = options
        .get("baseUrl")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_BASE_URL);
    if SITES.iter().any(|(_, url)| *url == base_url) {
        values.set("site", base_url);
    } else {
        values.set("site", CUSTOM);
        values.set("custom_url", base_url);
    }
    if options
        .get("profile")
        .and_then(Value::as_bool)
        .unwrap_or(true)
    {
        values.set("profile", "on");
    }
    values
}

/// A typed custom URL is what the admin meant, whichever site the list still shows.
fn base_url(form: &FormValues) -> String {
    match form.text("custom_url") {
        Some(custom) => custom.to_owned(),
        None if form.get("site") == CUSTOM => String::new(),
        None => form.get("site").to_owned(),
    }
}

pub(super) fn options(form: &FormValues, stored: Option<&Value>) -> Value {
    let mut map = options_over(stored, KEPT_OPTIONS, form);
    map.insert("baseUrl".into(), json!(base_url(form)));
    map.insert("profile".into(), json!(form.checked("profile")));
    map.insert(
        "set_user_root_attributes".into(),
        json!(form.get("set_user_root_attributes")),
    );
    Value::Object(map)
}

pub(super) fn render(view: &FormView<'_>) -> String {
    let current = base_url(view.values);
    let mut sites: Vec<Choice> = SITES
        .iter()
        .map(|(name, url)| Choice {
            value: (*url).to_owned(),
            label: format!("{name} ({})", url.trim_start_matches("https://")),
            selected: *url == current,
        })
        .collect();
    let known = sites.iter().any(|s| s.selected);
    sites.push(Choice {
        value: CUSTOM.into(),
        label: "Custom URL (a test server)".into(),
        selected: !known,
    });
    ExactForm {
        v: view,
        sites,
        policies: choices(
            ROOT_ATTRIBUTE_POLICIES,
            view.value("set_user_root_attributes"),
        ),
    }
    .render()
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_custom_url_wins_over_the_site() {
        let form = FormValues::from_pairs([
            ("site".to_owned(), "https://start.exactonline.be".to_owned()),
            ("custom_url".to_owned(), "http://127.0.0.1:9".to_owned()),
            ("client_id".to_owned(), "c".to_owned()),
        ]);
        assert_eq!(options(&form, None)["baseUrl"], "http://127.0.0.1:9");
        assert!(options(&form, None).get("client_secret").is_none());
    }

    #[test]
    fn stored_options_fill_the_form_and_api_only_options_survive_a_save() {
        let stored = json!({"client_id": "c", "baseUrl": "http://127.0.0.1:9", "profile": false,
            "upstream_params": {"force_login": {"value": "1"}}});
        let values = values(&stored);
        assert_eq!(
            (values.get("site"), values.get("custom_url")),
            (CUSTOM, "http://127.0.0.1:9")
        );
        assert!(!values.checked("profile"));
        assert_eq!(
            options(&values, Some(&stored))["upstream_params"],
            stored["upstream_params"]
        );
    }
}
