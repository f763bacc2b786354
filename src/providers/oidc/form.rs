//! The OpenID Connect part of the dashboard's connection form: where the provider is, the
//! client, scopes, PKCE and whether to read userinfo.

use askama::Template;
use serde_json::{json, Value};

use crate::providers::form::{
    choices, options_over, Choice, FormValues, FormView, ROOT_ATTRIBUTE_POLICIES,
};

/// Options the form does not show but the API may have set: kept on save.
const KEPT_OPTIONS: &[&str] = &[
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "oidc_metadata",
    "attribute_map",
    "upstream_params",
    "domain_aliases",
    "non_persistent_attrs",
    "type",
];

const AUTH_METHODS: &[(&str, &str)] = &[
    ("", "As the provider's discovery advertises"),
    ("client_secret_basic", "client_secret_basic (HTTP Basic)"),
    (
        "client_secret_post",
        "client_secret_post (in the form body)",
    ),
];

const PKCE: &[(&str, &str)] = &[
    ("auto", "When the provider supports it"),
    ("S256", "Always (S256)"),
    ("disabled", "Never"),
];

#[derive(Template)]
#[template(path = "dashboard/connections/strategies/oidc.html")]
struct OidcForm<'a> {
    v: &'a FormView<'a>,
    auth_methods: Vec<Choice>,
    pkce: Vec<Choice>,
    policies: Vec<Choice>,
}

pub(super) fn values(options: &Value) -> FormValues {
    let mut values = FormValues::from_options(
        options,
        &[
            "client_id",
            "discovery_url",
            "scope",
            "token_endpoint_auth_method",
            "fetch_userinfo",
            "set_user_root_attributes",
        ],
    );
    if values.text("discovery_url").is_none() {
        if let Some(issuer) = options.get("issuer").and_then(Value::as_str) {
            values.set("discovery_url", issuer);
        }
    }
    // The scopes a login asks for when none are set, shown rather than implied.
    if values.text("scope").is_none() {
        values.set("scope", "openid profile email");
    }
    let pkce = options
        .pointer("/connection_settings/pkce")
        .and_then(Value::as_str)
        .unwrap_or("auto");
    values.set("pkce", pkce);
    values
}

pub(super) fn options(form: &FormValues, stored: Option<&Value>) -> Value {
    let mut map = options_over(stored, KEPT_OPTIONS, form);
    // One field shows the discovery URL (or the issuer when only that is set). Unchanged, the
    // stored location is kept as it was; changed, the new value replaces both (a discovery URL
    // when it names a .well-known document, else an issuer).
    let stored_text = |key: &str| stored.and_then(|s| s.get(key)).and_then(Value::as_str);
    let shown = stored_text("discovery_url")
        .filter(|d| !d.is_empty())
        .or_else(|| stored_text("issuer"));
    match form.text("discovery_url") {
        Some(url) if shown == Some(url) => {
            if let Some(d) = stored_text("discovery_url") {
                map.insert("discovery_url".into(), json!(d));
            }
        }
        Some(url) => {
            map.remove("issuer");
            let key = if url.contains("/.well-known/") {
                "discovery_url"
            } else {
                "issuer"
            };
            map.insert(key.into(), json!(url));
        }
        None => {
            map.remove("issuer");
            map.insert("discovery_url".into(), json!(""));
        }
    }
    if let Some(scope) = form.text("scope") {
        map.insert("scope".into(), json!(scope));
    }
    if let Some(method) = form.text("token_endpoint_auth_method") {
        map.insert("token_endpoint_auth_method".into(), json!(method));
    }
    map.insert(
        "connection_settings".into(),
        json!({"pkce": form.text("pkce").unwrap_or("auto")}),
    );
    map.insert(
        "fetch_userinfo".into(),
        json!(form.checked("fetch_userinfo")),
    );
    if let Some(policy) = form.text("set_user_root_attributes") {
        map.insert("set_user_root_attributes".into(), json!(policy));
    }
    Value::Object(map)
}

pub(super) fn render(view: &FormView<'_>) -> String {
    OidcForm {
        v: view,
        auth_methods: choices(AUTH_METHODS, view.value("token_endpoint_auth_method")),
        pkce: choices(PKCE, view.value("pkce")),
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
    fn the_location_field_takes_a_discovery_url_or_an_issuer() {
        let form = |url: &str| {
            FormValues::from_pairs([
                ("client_id".to_owned(), "c".to_owned()),
                ("discovery_url".to_owned(), url.to_owned()),
            ])
        };
        let by_doc = options(
            &form("https://idp.example/.well-known/openid-configuration"),
            None,
        );
        assert!(by_doc.get("issuer").is_none());
        let by_issuer = options(&form("https://idp.example/tenant/v2.0"), None);
        assert_eq!(by_issuer["issuer"], "https://idp.example/tenant/v2.0");
        assert_eq!(
            values(&by_issuer).get("discovery_url"),
            "https://idp.example/tenant/v2.0"
        );
    }
}
