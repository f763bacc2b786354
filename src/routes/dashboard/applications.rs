//! Applications (OAuth clients) of a tenant: list, create, edit, rotate the secret, delete.
//! A client secret is shown exactly once, in the answer to the form that made it, and never
//! again (only its hash is stored).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use askama::Template;

use super::application_form::{
    app_type_label, blank_form, field_errors, refill, ApplicationForm, ApplicationFormPage,
    APP_TYPES, SIGNING_ALGS,
};
use super::page::{
    render, render_status, see_other_with, Choice, DashResult, Empty, Errors, Layout,
};
use super::session::{Role, TenantEdit, TenantView};
use super::tenants::{issuer, tenant_layout};
use crate::db;
use crate::db::clients::Client;
use crate::services::{self, ServiceError};
use crate::state::AppState;

pub struct AppRow {
    pub client_id: String,
    pub name: String,
    pub app_type: String,
    pub callbacks: usize,
}

#[derive(Template)]
#[template(path = "dashboard/applications/list.html")]
pub struct ApplicationsPage {
    pub layout: Layout,
    pub apps: Vec<AppRow>,
}

/// The create and edit form (`client_id` empty when creating).
#[derive(Template)]
#[template(path = "dashboard/applications/secret.html")]
pub struct SecretPage {
    pub layout: Layout,
    pub client_id: String,
    pub name: String,
    pub secret: String,
    pub rotated: bool,
}

#[derive(Template)]
#[template(path = "dashboard/applications/delete.html")]
pub struct DeleteApplicationPage {
    pub layout: Layout,
    pub client_id: String,
    pub name: String,
}

pub async fn list(req: HttpRequest, state: web::Data<AppState>, view: TenantView) -> DashResult {
    let clients = db::clients::page(&state.pool, view.tenant.tenant_id, 0, 500).await?;
    let apps = clients
        .iter()
        .map(|c| AppRow {
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            app_type: app_type_label(&c.app_type),
            callbacks: c.callbacks.len(),
        })
        .collect();
    let page = ApplicationsPage {
        layout: tenant_layout(&req, &state.settings, &view, "applications"),
        apps,
    };
    render(&req, &state.settings, &page)
}

pub async fn new(req: HttpRequest, state: web::Data<AppState>, view: TenantView) -> DashResult {
    if view.role != Role::Admin {
        return Err(super::page::forbidden(
            "Your role in this tenant is read-only.",
        ));
    }
    let page = blank_form(
        tenant_layout(&req, &state.settings, &view, "applications"),
        issuer(&state.settings, &view.tenant),
    );
    render(&req, &state.settings, &page)
}

fn edit_view<T>(edit: &TenantEdit<T>) -> TenantView {
    TenantView {
        session: edit.session.clone(),
        tenant: edit.tenant.clone(),
        role: Role::Admin,
    }
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    edit: TenantEdit<ApplicationForm>,
) -> DashResult {
    let view = edit_view(&edit);
    let layout = tenant_layout(&req, &state.settings, &view, "applications");
    let result = services::clients::create(
        &state.pool,
        edit.tenant.tenant_id,
        &edit.form.input(true),
        &edit.session.actor(),
    )
    .await;
    match result {
        Ok((client, Some(secret))) => {
            let page = SecretPage {
                layout,
                client_id: client.client_id,
                name: client.name,
                secret,
                rotated: false,
            };
            render_status(&req, &state.settings, StatusCode::CREATED, &page)
        }
        Ok((client, None)) => Ok(see_other_with(
            &state.settings,
            &format!(
                "/tenants/{}/applications/{}",
                edit.tenant.slug, client.client_id
            ),
            "ok",
            &format!("Application {} created.", client.name),
        )),
        Err(ServiceError::Invalid(e)) => {
            let page = refill(
                blank_form(layout, issuer(&state.settings, &edit.tenant)),
                &edit.form,
                field_errors(&e),
            );
            render_status(
                &req,
                &state.settings,
                StatusCode::UNPROCESSABLE_ENTITY,
                &page,
            )
        }
        Err(e) => Err(e.into()),
    }
}

async fn find(
    state: &AppState,
    view_tenant: uuid::Uuid,
    client_id: &str,
) -> Result<Client, super::page::DashError> {
    db::clients::by_id(&state.pool, view_tenant, client_id)
        .await?
        .filter(|c| !c.is_tester)
        .ok_or_else(super::page::not_found)
}

async fn form_for(
    state: &AppState,
    layout: Layout,
    view: &TenantView,
    client: &Client,
) -> Result<ApplicationFormPage, super::page::DashError> {
    let connections =
        db::connections::enabled_for_client(&state.pool, view.tenant.tenant_id, &client.client_id)
            .await?
            .into_iter()
            .map(|c| c.name)
            .collect();
    Ok(ApplicationFormPage {
        layout,
        client_id: client.client_id.clone(),
        version: client.version,
        confidential: client.token_endpoint_auth_method != "none",
        name: client.name.clone(),
        app_types: Choice::list(APP_TYPES, &client.app_type),
        callbacks: client.callbacks.join("\n"),
        logout_urls: client.allowed_logout_urls.join("\n"),
        web_origins: client.web_origins.join("\n"),
        signing_algs: Choice::list(SIGNING_ALGS, client.signing_alg.as_deref().unwrap_or("")),
        errors: Errors::default(),
        connections,
        issuer: issuer(&state.settings, &view.tenant),
    })
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    view: TenantView,
    path: web::Path<(String, String)>,
) -> DashResult {
    let client = find(&state, view.tenant.tenant_id, &path.1).await?;
    let layout = tenant_layout(&req, &state.settings, &view, "applications");
    let page = form_for(&state, layout, &view, &client).await?;
    render(&req, &state.settings, &page)
}

pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    edit: TenantEdit<ApplicationForm>,
    path: web::Path<(String, String)>,
) -> DashResult {
    let view = edit_view(&edit);
    let client = find(&state, edit.tenant.tenant_id, &path.1).await?;
    let type_changed = edit.form.app_type != client.app_type;
    let result = services::clients::update(
        &state.pool,
        edit.tenant.tenant_id,
        &client.client_id,
        &edit.form.input(type_changed),
        edit.form.version,
        &edit.session.actor(),
    )
    .await;
    match result {
        Ok(updated) => Ok(see_other_with(
            &state.settings,
            &format!(
                "/tenants/{}/applications/{}",
                edit.tenant.slug, updated.client_id
            ),
            "ok",
            "Application saved.",
        )),
        Err(ServiceError::Invalid(e)) => {
            let layout = tenant_layout(&req, &state.settings, &view, "applications");
            let page = refill(
                form_for(&state, layout, &view, &client).await?,
                &edit.form,
                field_errors(&e),
            );
            render_status(
                &req,
                &state.settings,
                StatusCode::UNPROCESSABLE_ENTITY,
                &page,
            )
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn rotate_secret(
    req: HttpRequest,
    state: web::Data<AppState>,
    edit: TenantEdit<Empty>,
    path: web::Path<(String, String)>,
) -> DashResult {
    let view = edit_view(&edit);
    let client = find(&state, edit.tenant.tenant_id, &path.1).await?;
    if client.token_endpoint_auth_method == "none" {
        return Err(super::page::DashError::Page(
            crate::error::PageError::bad_request(
                "This application is public (PKCE) and has no secret.",
            ),
        ));
    }
    let (client, secret) = services::clients::rotate_secret(
        &state.pool,
        edit.tenant.tenant_id,
        &client.client_id,
        &edit.session.actor(),
    )
    .await?;
    let page = SecretPage {
        layout: tenant_layout(&req, &state.settings, &view, "applications"),
        client_id: client.client_id,
        name: client.name,
        secret,
        rotated: true,
    };
    render(&req, &state.settings, &page)
}

pub async fn confirm_delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    view: TenantView,
    path: web::Path<(String, String)>,
) -> DashResult {
    let client = find(&state, view.tenant.tenant_id, &path.1).await?;
    let page = DeleteApplicationPage {
        layout: tenant_layout(&req, &state.settings, &view, "applications"),
        client_id: client.client_id,
        name: client.name,
    };
    render(&req, &state.settings, &page)
}

pub async fn delete(
    state: web::Data<AppState>,
    edit: TenantEdit<Empty>,
    path: web::Path<(String, String)>,
) -> DashResult {
    services::clients::delete(
        &state.pool,
        edit.tenant.tenant_id,
        &path.1,
        &edit.session.actor(),
    )
    .await?;
    Ok(see_other_with(
        &state.settings,
        &format!("/tenants/{}/applications", edit.tenant.slug),
        "ok",
        "Application deleted.",
    ))
}
