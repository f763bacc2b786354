//! The OAuth2 part of the dashboard's connection form: the provider's endpoints, the client,
//! scopes, PKCE, and where the profile is read and how it maps.

use askama::Template;
use serde_json::{json, Map, Value};

use crate::providers::form::{
    choices, options_over, Choice, FormValues, FormView, ROOT_ATTRIBUTE_POLICIES,
};

/// Options the form does not show but the API may have set: kept on save.
const KEPT_OPTIONS: &[&str] = &[
    "customHeaders",
    "authParams",
    "upstream_params",
    "non_persistent_attrs",
    "token_endpoint_auth_method",
];

/// The profile map's fields the form shows.
const MAP_FIELDS: &[&str] = &["user_id", "email", "name", "picture"];

#[derive(Template)]
#[template(path = "dashboard/connections/strategies/oauth2.html")]
struct OAuth2Form<'a> {
    v: &'a FormView<'a>,
    policies: Vec<Choice>,
}

pub(super) fn values(options: &Value) -> FormValues {
    let mut values = FormValues::from_options(
        options,
        &[
            "client_id",
            "authorizationURL",
            "tokenURL",
            "profile_url",
            "pkce_enabled",
            "set_user_root_attributes",
        ],
    );
    match options.get("scope") {
        Some(Value::String(s)) => values.set("scope", s.clone()),
        Some(Value::Array(items)) => values.set(
            "scope",
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => {}
    }
    for field in MAP_FIELDS {
        let pointer = options
            .pointer(&format!("/profile_map/{field}"))
            .and_then(Value::as_str)
            .unwrap_or(if *field == "user_id" { "/id" } else { "" });
        values.set(&format!("map_{field}"), pointer);
    }
    values
}

pub(super) fn options(form: &FormValues, stored: Option<&Value>) -> Value {
    let mut map = options_over(stored, KEPT_OPTIONS, form);
    let mut profile_map = Map::new();
    // Pointers for fields the form does not show survive a save.
    if let Some(Value::Object(m)) = stored.and_then(|s| s.get("profile_map")) {
        for (k, v) in m {
            if !MAP_FIELDS.contains(&k.as_str()) {
                profile_map.insert(k.clone(), v.clone());
            }
        }
    }
    for key in ["authorizationURL", "tokenURL", "profile_url"] {
        map.insert(key.into(), json!(form.get(key).trim()));
    }
    if let Some(scope) = form.text("scope") {
        map.insert("scope".into(), json!(scope));
    }
    map.insert("pkce_enabled".into(), json!(form.checked("pkce_enabled")));
    for field in MAP_FIELDS {
        if let Some(pointer) = form.text(&format!("map_{field}")) {
            profile_map.insert((*field).to_owned(), json!(pointer));
        }
    }
    map.insert("profile_map".into(), Value::Object(profile_map));
    if let Some(policy) = form.text("set_user_root_attributes") {
        map.insert("set_user_root_attributes".into(), json!(policy));
    }
    Value::Object(map)
}

pub(super) fn render(view: &FormView<'_>) -> String {
    OAuth2Form {
        v: view,
        policies: choices(
            ROOT_ATTRIBUTE_POLICIES,
            view.value("set_user_root_attributes"),
        ),
    }
    .render()
    .unwrap_or_default()
}
