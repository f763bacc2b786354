//! The Exact connection form: its page, what it posts, and the translation between the two
//! and the connection's options. The client secret is write-only: the page says whether one is
//! set, never shows it, and an empty field keeps it.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::page::{Choice, Errors, Layout};
use super::session::TenantView;
use super::tenants::issuer;
use crate::config::PublicScheme;
use crate::db::connections::Connection;
use crate::domain::{DEFAULT_EXACT_BASE_URL, EXACT_SITES};
use crate::providers::exact::ROOT_ATTRIBUTE_POLICIES;
use crate::state::AppState;
use askama::Template;

/// The value of the "custom URL" choice of the site list.
const CUSTOM: &str = "custom";

/// Options the form does not show but a PATCH through the API may have set: kept on save.
const KEPT_OPTIONS: &[&str] = &["upstream_params", "non_persistent_attrs", "scope"];

fn policy_label(policy: &str) -> &'static str {
    match policy {
        "on_first_login" => "On first login only",
        "never_on_login" => "Never (only when the user is created)",
        _ => "On each login",
    }
}

pub fn site_label(base_url: &str) -> String {
    EXACT_SITES
        .iter()
        .find(|(_, url)| *url == base_url)
        .map(|(name, _)| format!("Exact Online {name}"))
        .unwrap_or_else(|| base_url.to_owned())
}

pub fn option_str(c: &Connection, key: &str) -> String {
    c.options
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

#[derive(Template)]
#[template(path = "dashboard/connections/form.html")]
pub struct ConnectionFormPage {
    pub layout: Layout,
    /// Empty when creating.
    pub connection_id: String,
    pub version: i32,
    pub name: String,
    pub display_name: String,
    pub client_id: String,
    pub secret_set: bool,
    pub sites: Vec<Choice>,
    pub custom_url: String,
    pub profile: bool,
    pub policies: Vec<Choice>,
    pub errors: Errors,
    pub callback_url: String,
    pub http_warning: bool,
    /// The form came back with errors and had a secret typed in: it is never sent back to the
    /// browser, so the page asks for it again rather than dropping it silently.
    pub secret_to_retype: bool,
}

fn sites(current: &str) -> Vec<Choice> {
    let known = EXACT_SITES.iter().any(|(_, url)| *url == current);
    let mut list: Vec<Choice> = EXACT_SITES
        .iter()
        .map(|(name, url)| Choice {
            value: (*url).to_owned(),
            label: format!("{name} ({})", url.trim_start_matches("https://")),
            selected: *url == current,
        })
        .collect();
    list.push(Choice {
        value: CUSTOM.into(),
        label: "Custom URL (a test server)".into(),
        selected: !known,
    });
    list
}

fn policies(current: &str) -> Vec<Choice> {
    ROOT_ATTRIBUTE_POLICIES
        .iter()
        .map(|p| Choice {
            value: (*p).to_owned(),
            label: policy_label(p).to_owned(),
            selected: *p == current,
        })
        .collect()
}

pub fn blank(state: &AppState, layout: Layout, view: &TenantView) -> ConnectionFormPage {
    ConnectionFormPage {
        layout,
        connection_id: String::new(),
        version: 0,
        name: "exact".into(),
        display_name: "Exact Online".into(),
        client_id: String::new(),
        secret_set: false,
        sites: sites(DEFAULT_EXACT_BASE_URL),
        custom_url: String::new(),
        profile: true,
        policies: policies("on_each_login"),
        errors: Errors::default(),
        callback_url: format!("{}login/callback", issuer(&state.settings, &view.tenant)),
        http_warning: state.settings.public_scheme == PublicScheme::Http,
        secret_to_retype: false,
    }
}

pub fn filled(
    state: &AppState,
    layout: Layout,
    view: &TenantView,
    c: &Connection,
) -> ConnectionFormPage {
    let base_url = option_str(c, "baseUrl");
    let known = EXACT_SITES.iter().any(|(_, url)| *url == base_url);
    ConnectionFormPage {
        connection_id: c.connection_id.clone(),
        version: c.version,
        name: c.name.clone(),
        display_name: c.display_name.clone().unwrap_or_default(),
        client_id: option_str(c, "client_id"),
        secret_set: c.client_secret_sealed.is_some(),
        sites: sites(&base_url),
        custom_url: if known { String::new() } else { base_url },
        profile: c
            .options
            .get("profile")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        policies: policies(&option_str(c, "set_user_root_attributes")),
        ..blank(state, layout, view)
    }
}

#[derive(Deserialize)]
pub struct ConnectionForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    client_id: String,
    /// Write-only: empty means "keep the stored secret".
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    site: String,
    #[serde(default)]
    custom_url: String,
    #[serde(default)]
    profile: Option<String>,
    #[serde(default)]
    set_user_root_attributes: String,
    #[serde(default)]
    pub version: Option<i32>,
}

impl ConnectionForm {
    /// A typed custom URL is what the admin meant, whichever site the list still shows.
    fn base_url(&self) -> String {
        let custom = self.custom_url.trim();
        if self.site == CUSTOM || !custom.is_empty() {
            custom.to_owned()
        } else {
            self.site.clone()
        }
    }

    /// The options object, over the stored options the form does not show.
    pub fn options(&self, stored: Option<&Value>) -> Value {
        let mut map = Map::new();
        if let Some(Value::Object(stored)) = stored {
            for key in KEPT_OPTIONS {
                if let Some(v) = stored.get(*key) {
                    map.insert((*key).to_owned(), v.clone());
                }
            }
        }
        map.insert("client_id".into(), json!(self.client_id.trim()));
        if !self.client_secret.trim().is_empty() {
            map.insert("client_secret".into(), json!(self.client_secret.trim()));
        }
        map.insert("baseUrl".into(), json!(self.base_url()));
        map.insert("profile".into(), json!(self.profile.is_some()));
        map.insert(
            "set_user_root_attributes".into(),
            json!(self.set_user_root_attributes),
        );
        Value::Object(map)
    }

    /// Puts what was typed back into the page (never the secret).
    pub fn refill(&self, mut page: ConnectionFormPage, errors: Errors) -> ConnectionFormPage {
        if page.connection_id.is_empty() {
            page.name = self.name.clone();
        }
        page.display_name = self.display_name.clone();
        page.client_id = self.client_id.clone();
        page.sites = sites(&self.base_url());
        page.custom_url = self.custom_url.clone();
        page.profile = self.profile.is_some();
        page.policies = policies(&self.set_user_root_attributes);
        page.secret_to_retype = !self.client_secret.trim().is_empty();
        page.errors = errors;
        page
    }
}

pub fn field_errors(e: &crate::domain::FieldError) -> Errors {
    let field = match e.field.as_str() {
        "name" => "name",
        "display_name" => "display_name",
        "options.client_id" => "client_id",
        "options.client_secret" => "client_secret",
        "options.baseUrl" => "base_url",
        "options.set_user_root_attributes" => "set_user_root_attributes",
        _ => "form",
    };
    Errors::one(field, e.message.clone())
}
