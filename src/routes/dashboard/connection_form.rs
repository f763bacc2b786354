//! The connection form of every strategy: the page around the strategy's own fields (name,
//! button text, the callback URL to register and how to register it), what it posts, and
//! turning field errors into messages next to their fields. The client secret is write-only:
//! the page says whether one is set, never shows it, and an empty field keeps it.

use std::collections::BTreeMap;

use askama::Template;
use serde::Deserialize;
use serde_json::Value;

use super::page::Layout;
use super::session::TenantView;
use super::tenants::issuer;
use crate::config::PublicScheme;
use crate::db::connections::Connection;
use crate::domain::FieldError;
use crate::providers::form::option_of_error;
use crate::providers::presets::{self, Preset};
use crate::providers::{FormValues, FormView, Strategy};
use crate::state::AppState;

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
    pub strategy: String,
    /// What this kind of connection is called ("Exact Online", "Microsoft Entra ID").
    pub kind: String,
    /// The chooser entry the form was opened from (kept through a failed create).
    pub preset: String,
    pub steps: String,
    pub name: String,
    pub display_name: String,
    /// Errors keyed by option or field name; `form` for the whole form.
    pub errors: BTreeMap<String, String>,
    pub callback_url: String,
    pub http_warning: bool,
    /// The strategy's fields, rendered by its own template.
    pub fields: String,
}

impl ConnectionFormPage {
    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
}

/// What the form shows besides the strategy's fields.
struct Frame<'a> {
    strategy: &'static dyn Strategy,
    preset: Preset,
    connection: Option<&'a Connection>,
}

fn page(
    state: &AppState,
    layout: Layout,
    view: &TenantView,
    frame: Frame<'_>,
    values: &FormValues,
    errors: BTreeMap<String, String>,
    secret_to_retype: bool,
) -> ConnectionFormPage {
    let fields = frame.strategy.render_form(&FormView {
        values,
        errors: &errors,
        secret_set: frame
            .connection
            .is_some_and(|c| c.client_secret_sealed.is_some()),
        secret_to_retype,
        editable: layout.can_edit(),
    });
    ConnectionFormPage {
        layout,
        connection_id: frame
            .connection
            .map(|c| c.connection_id.clone())
            .unwrap_or_default(),
        version: frame.connection.map(|c| c.version).unwrap_or(0),
        strategy: frame.strategy.name().to_owned(),
        // A preset's name ("Microsoft Entra ID"), else the strategy's ("OpenID Connect").
        kind: match frame.connection.is_none() && frame.preset.id != frame.strategy.name() {
            true => frame.preset.label.to_owned(),
            false => frame.strategy.display_name().to_owned(),
        },
        preset: frame.preset.id.to_owned(),
        steps: frame.preset.steps.to_owned(),
        name: frame
            .connection
            .map(|c| c.name.clone())
            .unwrap_or_else(|| frame.preset.name.to_owned()),
        display_name: match frame.connection {
            Some(c) => c.display_name.clone().unwrap_or_default(),
            None => frame.preset.display_name.to_owned(),
        },
        errors,
        callback_url: format!("{}login/callback", issuer(&state.settings, &view.tenant)),
        http_warning: state.settings.public_scheme == PublicScheme::Http,
        fields,
    }
}

/// The form for a new connection from the chooser entry `preset`.
pub fn blank(
    state: &AppState,
    layout: Layout,
    view: &TenantView,
    preset: Preset,
) -> Option<ConnectionFormPage> {
    let strategy = crate::providers::by_name(preset.strategy)?;
    let mut values = strategy.form_values(&Value::Object(Default::default()));
    for (field, value) in preset.values {
        values.set(field, *value);
    }
    Some(page(
        state,
        layout,
        view,
        Frame {
            strategy,
            preset,
            connection: None,
        },
        &values,
        BTreeMap::new(),
        false,
    ))
}

/// The form of a stored connection.
pub fn filled(
    state: &AppState,
    layout: Layout,
    view: &TenantView,
    c: &Connection,
) -> Option<ConnectionFormPage> {
    let strategy = crate::providers::by_name(&c.strategy)?;
    let preset = presets::of_strategy(&c.strategy)?;
    let values = strategy.form_values(&c.options);
    Some(page(
        state,
        layout,
        view,
        Frame {
            strategy,
            preset,
            connection: Some(c),
        },
        &values,
        BTreeMap::new(),
        false,
    ))
}

/// A posted connection form: the common fields by name, the strategy's as they came.
#[derive(Deserialize)]
#[serde(transparent)]
pub struct ConnectionForm(Vec<(String, String)>);

impl ConnectionForm {
    fn field(&self, name: &str) -> &str {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.field("name").trim()
    }

    pub fn display_name(&self) -> &str {
        self.field("display_name")
    }

    pub fn preset(&self) -> &str {
        self.field("preset")
    }

    pub fn version(&self) -> Option<i32> {
        self.field("version").trim().parse().ok()
    }

    pub fn values(&self) -> FormValues {
        FormValues::from_pairs(
            self.0
                .iter()
                .filter(|(k, _)| {
                    !["csrf", "name", "display_name", "version", "preset"].contains(&k.as_str())
                })
                .cloned(),
        )
    }

    /// The options this form means for `strategy`, over `stored`.
    pub fn options(&self, strategy: &dyn Strategy, stored: Option<&Value>) -> Value {
        strategy.form_options(&self.values(), stored)
    }

    /// The page again, with what was typed (never the secret) and the errors.
    pub fn refill(
        &self,
        state: &AppState,
        layout: Layout,
        view: &TenantView,
        (preset, connection): (Preset, Option<&Connection>),
        errors: BTreeMap<String, String>,
    ) -> Option<ConnectionFormPage> {
        let strategy = crate::providers::by_name(preset.strategy)
            .or_else(|| connection.and_then(|c| crate::providers::by_name(&c.strategy)))?;
        let mut values = self.values();
        let retype = !values.get("client_secret").trim().is_empty();
        values.remove("client_secret");
        let mut page = page(
            state,
            layout,
            view,
            Frame {
                strategy,
                preset,
                connection,
            },
            &values,
            errors,
            retype,
        );
        if connection.is_none() {
            page.name = self.name().to_owned();
        }
        page.display_name = self.display_name().to_owned();
        Some(page)
    }
}

/// A field error as the form shows it: next to the option it is about.
pub fn field_errors(e: &FieldError) -> BTreeMap<String, String> {
    let key = match e.field.as_str() {
        "name" | "display_name" => e.field.clone(),
        f if f.starts_with("options.") => option_of_error(f).to_owned(),
        _ => "form".to_owned(),
    };
    BTreeMap::from([(key, e.message.clone())])
}

/// One error for the whole form or a common field.
pub fn one_error(field: &str, message: impl Into<String>) -> BTreeMap<String, String> {
    BTreeMap::from([(field.to_owned(), message.into())])
}
