//! Tenants: the list (all of them for operators, their own for tenant admins) and creation
//! (operators); also the layout helpers every tenant page uses. The overview is `overview.rs`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use askama::Template;
use serde::Deserialize;

use super::page::{
    forbidden, read_flash, render, render_status, see_other_with, DashResult, Layout, TenantNav,
};
use super::session::{AdminSession, TenantView};
use crate::config::Settings;
use crate::db;
use crate::db::tenants::Tenant;
use crate::services::{self, ServiceError};
use crate::state::AppState;

/// A tenant as the list shows it.
pub struct TenantRow {
    pub slug: String,
    pub name: String,
    pub domain: String,
    pub issuer: String,
}

#[derive(Template)]
#[template(path = "dashboard/tenants/list.html")]
pub struct TenantsPage {
    pub layout: Layout,
    pub tenants: Vec<TenantRow>,
}

#[derive(Template)]
#[template(path = "dashboard/tenants/new.html")]
pub struct NewTenantPage {
    pub layout: Layout,
    pub slug: String,
    pub display_name: String,
    pub domains: String,
    pub slug_error: Option<String>,
    pub display_name_error: Option<String>,
    pub domains_error: Option<String>,
}

/// The layout of a page of a signed-in admin, outside any tenant.
pub fn layout(req: &HttpRequest, settings: &Settings, session: &AdminSession) -> Layout {
    Layout {
        email: session.email.clone(),
        is_operator: session.is_operator,
        csrf: session.csrf_token.clone(),
        flash: read_flash(req, settings),
        tenant: None,
    }
}

/// The layout of a tenant page, with `tab` open.
pub fn tenant_layout(
    req: &HttpRequest,
    settings: &Settings,
    view: &TenantView,
    tab: &'static str,
) -> Layout {
    Layout {
        tenant: Some(TenantNav {
            slug: view.tenant.slug.clone(),
            name: view.tenant.display_name.clone(),
            tab,
            can_edit: view.can_edit(),
        }),
        ..layout(req, settings, &view.session)
    }
}

/// `{scheme}://{slug}.{base domain}/`, the tenant's issuer.
pub fn issuer(settings: &Settings, tenant: &Tenant) -> String {
    settings.issuer_for_host(&services::tenants::canonical_host(settings, tenant))
}

pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: AdminSession,
) -> DashResult {
    let all = db::tenants::list(&state.pool).await?;
    let mine = if session.is_operator {
        all
    } else {
        let ids = db::admins::tenant_ids_of(&state.pool, session.admin_id).await?;
        all.into_iter()
            .filter(|t| ids.contains(&t.tenant_id))
            .collect()
    };
    let tenants = mine
        .iter()
        .map(|t| TenantRow {
            slug: t.slug.clone(),
            name: t.display_name.clone(),
            domain: services::tenants::canonical_host(&state.settings, t),
            issuer: issuer(&state.settings, t),
        })
        .collect();
    let page = TenantsPage {
        layout: layout(&req, &state.settings, &session),
        tenants,
    };
    render(&req, &state.settings, &page)
}

pub async fn new(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: AdminSession,
) -> DashResult {
    if !session.is_operator {
        return Err(forbidden("Only operators create tenants."));
    }
    let page = NewTenantPage {
        layout: layout(&req, &state.settings, &session),
        slug: String::new(),
        display_name: String::new(),
        domains: String::new(),
        slug_error: None,
        display_name_error: None,
        domains_error: None,
    };
    render(&req, &state.settings, &page)
}

#[derive(Deserialize)]
pub struct NewTenantForm {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    domains: String,
}

/// Lines of a textarea, trimmed, without empty ones.
pub fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    posted: super::session::Posted<NewTenantForm>,
) -> DashResult {
    let session = posted.session;
    if !session.is_operator {
        return Err(forbidden("Only operators create tenants."));
    }
    let form = posted.form;
    let display_name = Some(form.display_name.trim()).filter(|d| !d.is_empty());
    let result = services::tenants::create(
        &state.pool,
        &state.sealer,
        &state.settings,
        &form.slug,
        display_name,
        &lines(&form.domains),
        &session.actor(),
    )
    .await;
    let (mut slug_error, mut display_name_error, mut domains_error) = (None, None, None);
    match result {
        Ok(tenant) => {
            return Ok(see_other_with(
                &state.settings,
                &format!("/tenants/{}", tenant.slug),
                "ok",
                &format!(
                    "Tenant {} created. Next: add an application.",
                    tenant.display_name
                ),
            ))
        }
        Err(ServiceError::Invalid(e)) => match e.field.as_str() {
            "slug" => slug_error = Some(e.message),
            "display_name" => display_name_error = Some(e.message),
            _ => domains_error = Some(e.message),
        },
        Err(ServiceError::Conflict(m)) if m.contains("slug") => slug_error = Some(m),
        Err(ServiceError::Conflict(m)) => domains_error = Some(m),
        Err(e) => return Err(e.into()),
    }
    let page = NewTenantPage {
        layout: layout(&req, &state.settings, &session),
        slug: form.slug,
        display_name: form.display_name,
        domains: form.domains,
        slug_error,
        display_name_error,
        domains_error,
    };
    render_status(
        &req,
        &state.settings,
        StatusCode::UNPROCESSABLE_ENTITY,
        &page,
    )
}
