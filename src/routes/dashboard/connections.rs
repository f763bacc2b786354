//! A tenant's connections, of every strategy: the list, the "New connection" chooser (each
//! strategy and the presets), the create/edit form (`connection_form`), and deletion with a
//! confirmation step.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use askama::Template;

use super::connection_badges::{badges, Badge};
use super::connection_form::{blank, field_errors, filled, one_error, ConnectionForm};
use super::page::{
    not_found, render, render_status, see_other_with, DashError, DashResult, Empty, Layout,
};
use super::session::{Role, TenantEdit, TenantView};
use super::tenants::tenant_layout;
use crate::db;
use crate::db::connections::Connection;
use crate::providers::presets::{self, Preset};
use crate::services::connections::ConnectionInput;
use crate::services::{self, ServiceError};
use crate::state::AppState;

pub struct ConnectionRow {
    pub connection_id: String,
    pub name: String,
    pub display_name: String,
    /// The kind of connection ("Exact Online", "OpenID Connect").
    pub kind: String,
    /// Where its upstream is ("Exact Online Belgium", an issuer).
    pub upstream: String,
    pub applications: usize,
    /// Success rate over the last 24 hours, linking to the Health tab.
    pub health: Badge,
}

#[derive(Template)]
#[template(path = "dashboard/connections/list.html")]
pub struct ConnectionsPage {
    pub layout: Layout,
    pub connections: Vec<ConnectionRow>,
}

/// The chooser of the kind of connection to create.
#[derive(Template)]
#[template(path = "dashboard/connections/new.html")]
pub struct ChooserPage {
    pub layout: Layout,
    pub presets: Vec<Preset>,
}

#[derive(Template)]
#[template(path = "dashboard/connections/delete.html")]
pub struct DeleteConnectionPage {
    pub layout: Layout,
    pub connection_id: String,
    pub name: String,
}

pub async fn list(req: HttpRequest, state: web::Data<AppState>, view: TenantView) -> DashResult {
    let tenant_id = view.tenant.tenant_id;
    let all = db::connections::page(&state.pool, tenant_id, &Default::default(), 0, 500).await?;
    let mut health = badges(&state.pool, tenant_id, &all).await?;
    let mut connections = Vec::with_capacity(all.len());
    for c in &all {
        let enabled =
            db::connections::enabled_clients(&state.pool, tenant_id, &c.connection_id).await?;
        connections.push(ConnectionRow {
            connection_id: c.connection_id.clone(),
            name: c.name.clone(),
            display_name: c.display_name.clone().unwrap_or_default(),
            kind: crate::providers::by_name(&c.strategy)
                .map(|s| s.display_name().to_owned())
                .unwrap_or_else(|| c.strategy.clone()),
            upstream: crate::providers::by_name(&c.strategy)
                .map(|s| s.summary(&c.options))
                .unwrap_or_default(),
            applications: enabled.len(),
            health: health.remove(&c.connection_id).unwrap_or_else(Badge::none),
        });
    }
    let page = ConnectionsPage {
        layout: tenant_layout(&req, &state.settings, &view, "connections"),
        connections,
    };
    render(&req, &state.settings, &page)
}

#[derive(serde::Deserialize)]
pub struct NewQuery {
    preset: Option<String>,
}

/// `/connections/new`: the chooser; `?preset=...` the form of that entry.
pub async fn new(
    req: HttpRequest,
    state: web::Data<AppState>,
    view: TenantView,
    query: web::Query<NewQuery>,
) -> DashResult {
    if view.role != Role::Admin {
        return Err(super::page::forbidden(
            "Your role in this tenant is read-only.",
        ));
    }
    let layout = tenant_layout(&req, &state.settings, &view, "connections");
    let Some(id) = &query.preset else {
        return render(
            &req,
            &state.settings,
            &ChooserPage {
                layout,
                presets: presets::entries(),
            },
        );
    };
    let page = presets::by_id(id)
        .and_then(|preset| blank(&state, layout, &view, preset))
        .ok_or_else(not_found)?;
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
    edit: TenantEdit<ConnectionForm>,
) -> DashResult {
    let view = edit_view(&edit);
    let form = &edit.form;
    let preset = presets::by_id(form.preset()).ok_or_else(not_found)?;
    let strategy = crate::providers::by_name(preset.strategy).ok_or_else(not_found)?;
    let input = ConnectionInput {
        name: Some(form.name().to_owned()),
        display_name: Some(form.display_name().to_owned()),
        strategy: Some(strategy.name().to_owned()),
        options: Some(form.options(strategy, None)),
        ..Default::default()
    };
    let errors = match services::connections::create(
        &state.pool,
        &state.sealer,
        edit.tenant.tenant_id,
        &input,
        &edit.session.actor(),
    )
    .await
    {
        Ok(created) => {
            return Ok(see_other_with(
                &state.settings,
                &format!(
                    "/tenants/{}/connections/{}/applications",
                    edit.tenant.slug, created.connection.connection_id
                ),
                "ok",
                &format!(
                    "Connection {} created. Now enable it for your applications.",
                    created.connection.name
                ),
            ))
        }
        Err(ServiceError::Invalid(e)) => field_errors(&e),
        Err(ServiceError::Conflict(m)) => one_error("name", m),
        Err(e) => return Err(e.into()),
    };
    let layout = tenant_layout(&req, &state.settings, &view, "connections");
    let page = form
        .refill(&state, layout, &view, (preset, None), errors)
        .ok_or_else(not_found)?;
    render_status(
        &req,
        &state.settings,
        StatusCode::UNPROCESSABLE_ENTITY,
        &page,
    )
}

/// The connection of the path's `{id}` in this tenant.
pub async fn find(
    state: &AppState,
    tenant_id: uuid::Uuid,
    connection_id: &str,
) -> Result<Connection, DashError> {
    db::connections::by_id(&state.pool, tenant_id, connection_id)
        .await?
        .ok_or_else(not_found)
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    view: TenantView,
    path: web::Path<(String, String)>,
) -> DashResult {
    let c = find(&state, view.tenant.tenant_id, &path.1).await?;
    let layout = tenant_layout(&req, &state.settings, &view, "connections");
    let page = filled(&state, layout, &view, &c).ok_or_else(not_found)?;
    render(&req, &state.settings, &page)
}

pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    edit: TenantEdit<ConnectionForm>,
    path: web::Path<(String, String)>,
) -> DashResult {
    let view = edit_view(&edit);
    let current = find(&state, edit.tenant.tenant_id, &path.1).await?;
    let form = &edit.form;
    let strategy = crate::providers::by_name(&current.strategy).ok_or_else(not_found)?;
    let input = ConnectionInput {
        display_name: Some(form.display_name().to_owned()),
        options: Some(form.options(strategy, Some(&current.options))),
        ..Default::default()
    };
    let result = services::connections::update(
        &state.pool,
        &state.sealer,
        edit.tenant.tenant_id,
        &current.connection_id,
        &input,
        form.version(),
        &edit.session.actor(),
    )
    .await;
    let errors = match result {
        Ok(updated) => {
            return Ok(see_other_with(
                &state.settings,
                &format!("/tenants/{}/connections/{}", edit.tenant.slug, updated.connection.connection_id),
                "ok",
                "Connection saved.",
            ))
        }
        Err(ServiceError::Invalid(e)) => field_errors(&e),
        Err(ServiceError::Stale) => one_error("form", "Someone changed this connection while you were editing it. Your changes are below; save again to overwrite."),
        Err(e) => return Err(e.into()),
    };
    let layout = tenant_layout(&req, &state.settings, &view, "connections");
    // A stale save shows the newest version number, so saving again applies the changes.
    let fresh = find(&state, edit.tenant.tenant_id, &path.1).await?;
    let preset = presets::of_strategy(&fresh.strategy).ok_or_else(not_found)?;
    let page = form
        .refill(&state, layout, &view, (preset, Some(&fresh)), errors)
        .ok_or_else(not_found)?;
    render_status(
        &req,
        &state.settings,
        StatusCode::UNPROCESSABLE_ENTITY,
        &page,
    )
}

pub async fn confirm_delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    view: TenantView,
    path: web::Path<(String, String)>,
) -> DashResult {
    let c = find(&state, view.tenant.tenant_id, &path.1).await?;
    let page = DeleteConnectionPage {
        layout: tenant_layout(&req, &state.settings, &view, "connections"),
        connection_id: c.connection_id,
        name: c.name,
    };
    render(&req, &state.settings, &page)
}

pub async fn delete(
    state: web::Data<AppState>,
    edit: TenantEdit<Empty>,
    path: web::Path<(String, String)>,
) -> DashResult {
    services::connections::delete(
        &state.pool,
        edit.tenant.tenant_id,
        &path.1,
        None,
        &edit.session.actor(),
    )
    .await?;
    Ok(see_other_with(
        &state.settings,
        &format!("/tenants/{}/connections", edit.tenant.slug),
        "ok",
        "Connection deleted.",
    ))
}
