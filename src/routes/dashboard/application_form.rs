//! The application form: its page, what it posts, and how service complaints land next to the
//! field they are about.

use askama::Template;
use serde::Deserialize;

use super::page::{Choice, Errors, Layout};
use super::tenants::lines;
use crate::domain::FieldError;
use crate::services::clients::ClientInput;

pub const APP_TYPES: &[(&str, &str)] = &[
    (
        "regular_web",
        "Regular web application (server side, with a secret)",
    ),
    ("spa", "Single-page application (public, PKCE)"),
    ("native", "Native or mobile application (public, PKCE)"),
    ("non_interactive", "Machine to machine (client credentials)"),
];

/// The signing algorithms an application may choose; empty: the tenant's default.
pub const SIGNING_ALGS: &[(&str, &str)] = &[
    ("", "The tenant's default"),
    ("RS256", "RS256 (RSA, what every library expects)"),
    ("PS256", "PS256 (RSA-PSS)"),
    ("ES256", "ES256 (P-256: smallest and fastest)"),
];

pub fn app_type_label(value: &str) -> String {
    APP_TYPES
        .iter()
        .find(|(v, _)| *v == value)
        .map(|(_, l)| l.split(" (").next().unwrap_or(l).to_owned())
        .unwrap_or_else(|| value.to_owned())
}

#[derive(Template)]
#[template(path = "dashboard/applications/form.html")]
pub struct ApplicationFormPage {
    pub layout: Layout,
    pub client_id: String,
    pub version: i32,
    pub confidential: bool,
    pub name: String,
    pub app_types: Vec<Choice>,
    pub callbacks: String,
    pub logout_urls: String,
    pub web_origins: String,
    /// `jwt_configuration.alg`: the algorithm its ID and access tokens are signed with.
    pub signing_algs: Vec<Choice>,
    pub errors: Errors,
    pub connections: Vec<String>,
    pub issuer: String,
}

impl ApplicationFormPage {
    /// Whether the type chosen is a single-page application (which calls the token endpoint
    /// from the browser, so needs its web origin listed).
    pub fn app_type_is_spa(&self) -> bool {
        self.app_types
            .iter()
            .any(|c| c.selected && c.value == "spa")
    }
}

pub fn blank_form(layout: Layout, issuer: String) -> ApplicationFormPage {
    ApplicationFormPage {
        layout,
        client_id: String::new(),
        version: 0,
        confidential: true,
        name: String::new(),
        app_types: Choice::list(APP_TYPES, "regular_web"),
        callbacks: String::new(),
        logout_urls: String::new(),
        web_origins: String::new(),
        signing_algs: Choice::list(SIGNING_ALGS, ""),
        errors: Errors::default(),
        connections: vec![],
        issuer,
    }
}

#[derive(Deserialize)]
pub struct ApplicationForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    pub app_type: String,
    #[serde(default)]
    callbacks: String,
    #[serde(default)]
    logout_urls: String,
    #[serde(default)]
    web_origins: String,
    #[serde(default)]
    signing_alg: String,
    #[serde(default)]
    pub version: Option<i32>,
}

impl ApplicationForm {
    pub fn input(&self, with_type: bool) -> ClientInput {
        ClientInput {
            name: Some(self.name.trim().to_owned()),
            app_type: with_type.then(|| self.app_type.clone()),
            callbacks: Some(lines(&self.callbacks)),
            allowed_logout_urls: Some(lines(&self.logout_urls)),
            web_origins: Some(lines(&self.web_origins)),
            signing_alg: Some(Some(self.signing_alg.trim().to_owned()).filter(|a| !a.is_empty())),
            ..Default::default()
        }
    }
}

/// Which field of the form a service complaint is about.
pub fn field_errors(e: &FieldError) -> Errors {
    let field = if e.field.starts_with("callbacks") {
        "callbacks"
    } else if e.field.starts_with("allowed_logout_urls") {
        "logout_urls"
    } else if e.field.starts_with("web_origins") {
        "web_origins"
    } else if e.field == "name" {
        "name"
    } else if e.field.starts_with("jwt_configuration") {
        "signing_alg"
    } else {
        "app_type"
    };
    let message = if e.field.contains('[') {
        // Say which line: `callbacks[1]` is the second line.
        let line = e
            .field
            .split('[')
            .nth(1)
            .and_then(|s| s.trim_end_matches(']').parse::<usize>().ok())
            .map(|i| format!("line {}: ", i + 1))
            .unwrap_or_default();
        format!("{line}{}", e.message)
    } else {
        e.message.clone()
    };
    Errors::one(field, message)
}

pub fn refill(
    mut page: ApplicationFormPage,
    form: &ApplicationForm,
    errors: Errors,
) -> ApplicationFormPage {
    page.name = form.name.clone();
    page.app_types = Choice::list(APP_TYPES, &form.app_type);
    page.callbacks = form.callbacks.clone();
    page.logout_urls = form.logout_urls.clone();
    page.web_origins = form.web_origins.clone();
    page.signing_algs = Choice::list(SIGNING_ALGS, &form.signing_alg);
    page.errors = errors;
    page
}
