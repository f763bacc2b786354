//! `/setup`: the first run. While no admin exists it creates the first one, an operator; once
//! one exists it is gone (GET redirects to sign-in, POST is a 404).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::page::{render_status, see_other, see_other_with, DashResult, Layout};
use super::session::{presession_token, PreSessionForm};
use crate::db;
use crate::error::PageError;
use crate::services::{self, ServiceError};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "dashboard/setup.html")]
pub struct SetupPage {
    pub layout: Layout,
    pub csrf: String,
    pub email: String,
    pub email_error: Option<String>,
    pub password_error: Option<String>,
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

async fn already_set_up(state: &AppState) -> Result<bool, sqlx::Error> {
    Ok(db::admins::count(&state.pool).await? > 0)
}

pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> DashResult {
    if already_set_up(&state).await? {
        return Ok(see_other("/signin"));
    }
    let (csrf, new_cookie) = presession_token(&req, &state.settings);
    let page = SetupPage {
        layout: Layout::default(),
        csrf,
        email: String::new(),
        email_error: None,
        password_error: None,
    };
    let mut res = render_status(&req, &state.settings, StatusCode::OK, &page)?;
    if let Some(c) = new_cookie {
        let _ = res.add_cookie(&c);
    }
    Ok(res)
}

pub async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    posted: PreSessionForm<SetupForm>,
) -> DashResult {
    if already_set_up(&state).await? {
        return Err(PageError::not_found("Gatehouse is already set up.").into());
    }
    let form = posted.form;
    let (csrf, _) = presession_token(&req, &state.settings);
    let again = |email_error: Option<String>, password_error: Option<String>| {
        let page = SetupPage {
            layout: Layout::default(),
            csrf: csrf.clone(),
            email: form.email.chars().take(254).collect(),
            email_error,
            password_error,
        };
        render_status(
            &req,
            &state.settings,
            StatusCode::UNPROCESSABLE_ENTITY,
            &page,
        )
    };
    if form.password != form.confirm {
        return again(None, Some("The two passwords differ.".into()));
    }
    let password = SecretString::from(form.password.clone());
    match services::admins::create_first_operator(&state.pool, &form.email, &password).await {
        Ok(admin) => Ok(see_other_with(
            &state.settings,
            "/signin",
            "ok",
            &format!("Gatehouse is set up. Sign in as {}.", admin.email),
        )),
        Err(ServiceError::Invalid(e)) if e.field == "email" => again(Some(e.message), None),
        Err(ServiceError::Invalid(e)) => again(None, Some(e.message)),
        Err(ServiceError::Conflict(_)) => Ok(see_other("/signin")),
        Err(e) => Err(e.into()),
    }
}
