//! A connection's Applications tab: which applications of the tenant may log in with it.

use actix_web::{web, HttpRequest};
use askama::Template;
use serde::Deserialize;

use super::connections::find;
use super::page::{render, see_other_with, DashResult, Layout};
use super::session::{TenantEdit, TenantView};
use super::tenants::tenant_layout;
use crate::db;
use crate::services;
use crate::state::AppState;

pub struct AppToggle {
    pub client_id: String,
    pub name: String,
    pub enabled: bool,
}

#[derive(Template)]
#[template(path = "dashboard/connections/applications.html")]
pub struct ConnectionAppsPage {
    /// The kind of connection ("Exact Online").
    pub kind: String,
    pub layout: Layout,
    pub connection_id: String,
    pub name: String,
    pub apps: Vec<AppToggle>,
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    view: TenantView,
    path: web::Path<(String, String)>,
) -> DashResult {
    let tenant_id = view.tenant.tenant_id;
    let c = find(&state, tenant_id, &path.1).await?;
    let enabled =
        db::connections::enabled_clients(&state.pool, tenant_id, &c.connection_id).await?;
    let clients = db::clients::page(&state.pool, tenant_id, 0, 500).await?;
    let apps = clients
        .into_iter()
        .map(|client| AppToggle {
            enabled: enabled.contains(&client.client_id),
            client_id: client.client_id,
            name: client.name,
        })
        .collect();
    let page = ConnectionAppsPage {
        kind: super::connection_health::kind_of(&c),
        layout: tenant_layout(&req, &state.settings, &view, "connections"),
        connection_id: c.connection_id,
        name: c.name,
        apps,
    };
    render(&req, &state.settings, &page)
}

#[derive(Deserialize)]
pub struct ToggleForm {
    client_id: String,
    /// `true` to enable, anything else disables.
    #[serde(default)]
    enabled: String,
}

pub async fn toggle(
    state: web::Data<AppState>,
    edit: TenantEdit<ToggleForm>,
    path: web::Path<(String, String)>,
) -> DashResult {
    let tenant_id = edit.tenant.tenant_id;
    let c = find(&state, tenant_id, &path.1).await?;
    let enable = edit.form.enabled == "true";
    let client = db::clients::by_id(&state.pool, tenant_id, &edit.form.client_id)
        .await?
        .filter(|c| !c.is_tester)
        .ok_or_else(super::page::not_found)?;
    services::connections::set_clients(
        &state.pool,
        tenant_id,
        &c.connection_id,
        &[(client.client_id.clone(), enable)],
        None,
        &edit.session.actor(),
    )
    .await?;
    let text = if enable {
        format!("{} can now log in with {}.", client.name, c.name)
    } else {
        format!("{} no longer logs in with {}.", client.name, c.name)
    };
    Ok(see_other_with(
        &state.settings,
        &format!(
            "/tenants/{}/connections/{}/applications",
            edit.tenant.slug, c.connection_id
        ),
        "ok",
        &text,
    ))
}
