//! The admins of a tenant: who may see and change it, inviting (with a password chosen by the
//! inviter or a generated one shown once) and removal, which ends the removed admin's sessions.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use askama::Template;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use uuid::Uuid;

use super::page::{render_status, see_other_with, Choice, DashResult, Empty, Errors, Layout};
use super::session::{Role, TenantEdit, TenantView};
use super::tenants::tenant_layout;
use crate::db;
use crate::services::{self, ServiceError};
use crate::state::AppState;

const ROLES: &[(&str, &str)] = &[("admin", "Admin (can change)"), ("read_only", "Read-only")];

pub struct MemberRow {
    pub admin_id: String,
    pub email: String,
    pub role: String,
    pub is_you: bool,
}

#[derive(Template)]
#[template(path = "dashboard/admins/list.html")]
pub struct AdminsPage {
    pub layout: Layout,
    pub members: Vec<MemberRow>,
    pub email: String,
    pub roles: Vec<Choice>,
    pub errors: Errors,
    /// Shown once, after an invitation that generated a password.
    pub invited: Option<(String, String)>,
}

async fn page(
    req: &HttpRequest,
    state: &AppState,
    view: &TenantView,
    email: String,
    role: &str,
    errors: Errors,
    invited: Option<(String, String)>,
) -> DashResult {
    let members = db::admins::members(&state.pool, view.tenant.tenant_id)
        .await?
        .into_iter()
        .map(|m| MemberRow {
            is_you: m.admin_id == view.session.admin_id,
            admin_id: m.admin_id.to_string(),
            email: m.email,
            role: if m.role == "admin" {
                "Admin"
            } else {
                "Read-only"
            }
            .to_owned(),
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = AdminsPage {
        layout: tenant_layout(req, &state.settings, view, "admins"),
        members,
        email,
        roles: Choice::list(ROLES, role),
        errors,
        invited,
    };
    render_status(req, &state.settings, status, &page)
}

pub async fn list(req: HttpRequest, state: web::Data<AppState>, view: TenantView) -> DashResult {
    page(
        &req,
        &state,
        &view,
        String::new(),
        "admin",
        Errors::default(),
        None,
    )
    .await
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    /// Empty: generate a one-time password.
    #[serde(default)]
    password: String,
}

fn edit_view<T>(edit: &TenantEdit<T>) -> TenantView {
    TenantView {
        session: edit.session.clone(),
        tenant: edit.tenant.clone(),
        role: Role::Admin,
    }
}

pub async fn invite(
    req: HttpRequest,
    state: web::Data<AppState>,
    edit: TenantEdit<InviteForm>,
) -> DashResult {
    let view = edit_view(&edit);
    let form = &edit.form;
    let password = Some(form.password.as_str())
        .filter(|p| !p.is_empty())
        .map(|p| SecretString::from(p.to_owned()));
    let result = services::admins::invite(
        &state.pool,
        edit.tenant.tenant_id,
        &form.email,
        &form.role,
        password.as_ref(),
        &edit.session.actor(),
    )
    .await;
    let errors = match result {
        Ok(invited) => {
            if let Some(p) = invited.one_time_password {
                let shown = Some((invited.admin.email.clone(), p.expose_secret().to_owned()));
                return page(
                    &req,
                    &state,
                    &view,
                    String::new(),
                    "admin",
                    Errors::default(),
                    shown,
                )
                .await;
            }
            let text = if invited.existed {
                format!(
                    "{} now has access to this tenant (their password is unchanged).",
                    invited.admin.email
                )
            } else {
                format!(
                    "{} can now sign in with the password you chose.",
                    invited.admin.email
                )
            };
            return Ok(see_other_with(
                &state.settings,
                &format!("/tenants/{}/admins", edit.tenant.slug),
                "ok",
                &text,
            ));
        }
        Err(ServiceError::Invalid(e)) => Errors::one(
            if e.field == "password" {
                "password"
            } else if e.field == "role" {
                "role"
            } else {
                "email"
            },
            e.message,
        ),
        Err(ServiceError::Conflict(m)) => Errors::one("email", m),
        Err(e) => return Err(e.into()),
    };
    page(
        &req,
        &state,
        &view,
        form.email.clone(),
        &form.role,
        errors,
        None,
    )
    .await
}

pub async fn remove(
    state: web::Data<AppState>,
    edit: TenantEdit<Empty>,
    path: web::Path<(String, String)>,
) -> DashResult {
    let slug = edit.tenant.slug.clone();
    let admin_id = Uuid::parse_str(&path.1).map_err(|_| super::page::not_found())?;
    if admin_id == edit.session.admin_id {
        return Ok(see_other_with(
            &state.settings,
            &format!("/tenants/{slug}/admins"),
            "error",
            "You cannot remove yourself; ask another admin.",
        ));
    }
    services::admins::remove(
        &state.pool,
        edit.tenant.tenant_id,
        admin_id,
        &edit.session.actor(),
    )
    .await?;
    Ok(see_other_with(
        &state.settings,
        &format!("/tenants/{slug}/admins"),
        "ok",
        "Admin removed; their sessions have ended.",
    ))
}
