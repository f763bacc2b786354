//! A tenant's overview: its domain, issuer and callback URL, a getting-started checklist, the
//! settings forms (display name, custom domains), its recent activity and its signing keys
//! (`signing_keys.rs`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use askama::Template;
use serde::Deserialize;

use super::page::{render_status, see_other_with, DashResult, Layout};
use super::session::{Role, TenantEdit, TenantView};
use super::tenants::{issuer, tenant_layout};
use crate::config::Settings;
use crate::db;
use crate::domain::{DisplayName, FieldError, HostName};
use crate::services::{self, tenants, ServiceError};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "dashboard/tenants/overview.html")]
pub struct TenantPage {
    pub layout: Layout,
    pub domain: String,
    pub issuer: String,
    pub callback_url: String,
    pub custom_domains: Vec<String>,
    pub display_name: String,
    pub display_name_error: Option<String>,
    pub new_domain: String,
    pub domain_error: Option<String>,
    pub applications: i64,
    pub connections: i64,
    pub users: i64,
    pub keys: Vec<super::signing_keys::KeyRow>,
    /// The algorithm of applications that name none, and the choices.
    pub signing_alg: String,
    pub signing_algs: [&'static str; 3],
    pub activity: Activity,
}

/// The tenant's recent use: what `/api/v2/stats` reports, for the last two weeks.
pub struct Activity {
    pub active_users: i64,
    pub logins: i64,
    pub signups: i64,
    /// Newest first.
    pub days: Vec<db::stats::Day>,
    /// The busiest day's logins (at least 1): the scale of the bars.
    pub scale: i64,
}

/// Days the overview shows, today included.
const ACTIVITY_DAYS: u64 = 14;

async fn activity(state: &AppState, tenant_id: uuid::Uuid) -> Result<Activity, sqlx::Error> {
    let today = chrono::Utc::now().date_naive();
    let since = today
        .checked_sub_days(chrono::Days::new(ACTIVITY_DAYS - 1))
        .unwrap_or(today);
    let mut days = db::stats::daily(&state.pool, tenant_id, since, today).await?;
    days.reverse();
    Ok(Activity {
        active_users: db::stats::active_users(&state.pool, tenant_id).await?,
        logins: days.iter().map(|d| d.logins).sum(),
        signups: days.iter().map(|d| d.signups).sum(),
        scale: days.iter().map(|d| d.logins).max().unwrap_or(0).max(1),
        days,
    })
}

/// The overview page, optionally with a rejected input kept in its field.
async fn overview_page(
    req: &HttpRequest,
    state: &AppState,
    view: &TenantView,
    display_name: (String, Option<String>),
    new_domain: (String, Option<String>),
) -> DashResult {
    let tenant_id = view.tenant.tenant_id;
    let applications = db::clients::count(&state.pool, tenant_id).await?;
    let connections = db::connections::count(&state.pool, tenant_id, &Default::default()).await?;
    let users = db::users::count(&state.pool, tenant_id, None).await?;
    let issuer = issuer(&state.settings, &view.tenant);
    let page = TenantPage {
        layout: tenant_layout(req, &state.settings, view, "overview"),
        domain: services::tenants::canonical_host(&state.settings, &view.tenant),
        callback_url: format!("{issuer}login/callback"),
        issuer,
        custom_domains: db::tenants::domains(&state.pool, tenant_id).await?,
        display_name: display_name.0,
        display_name_error: display_name.1.clone(),
        new_domain: new_domain.0,
        domain_error: new_domain.1.clone(),
        applications,
        connections,
        users,
        keys: super::signing_keys::list(state, tenant_id).await?,
        signing_alg: view.tenant.signing_alg.clone(),
        signing_algs: crate::crypto::signing::SigningAlg::names(),
        activity: activity(state, tenant_id).await?,
    };
    let status = if display_name.1.is_some() || new_domain.1.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_status(req, &state.settings, status, &page)
}

pub async fn overview(
    req: HttpRequest,
    state: web::Data<AppState>,
    view: TenantView,
) -> DashResult {
    let name = view.tenant.display_name.clone();
    overview_page(&req, &state, &view, (name, None), (String::new(), None)).await
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    display_name: String,
}

fn as_view<T>(edit: &TenantEdit<T>) -> TenantView {
    TenantView {
        session: edit.session.clone(),
        tenant: edit.tenant.clone(),
        role: Role::Admin,
    }
}

pub async fn update_settings(
    req: HttpRequest,
    state: web::Data<AppState>,
    edit: TenantEdit<SettingsForm>,
) -> DashResult {
    let slug = edit.tenant.slug.clone();
    match DisplayName::parse("display_name", &edit.form.display_name) {
        Ok(name) => {
            tenants::rename(
                &state.pool,
                edit.tenant.tenant_id,
                &name,
                &edit.session.actor(),
            )
            .await?;
            Ok(see_other_with(
                &state.settings,
                &format!("/tenants/{slug}"),
                "ok",
                "Settings saved.",
            ))
        }
        Err(e) => {
            let view = as_view(&edit);
            overview_page(
                &req,
                &state,
                &view,
                (edit.form.display_name.clone(), Some(e.message)),
                (String::new(), None),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct DomainForm {
    #[serde(default)]
    domain: String,
}

fn check_domain(settings: &Settings, value: &str) -> Result<HostName, FieldError> {
    let domain = HostName::parse("domain", value)?;
    if domain.as_str() == settings.base_domain
        || domain
            .as_str()
            .ends_with(&format!(".{}", settings.base_domain))
    {
        return Err(FieldError::new("domain", "must not be under the Gatehouse base domain: the tenant has its own domain there already"));
    }
    Ok(domain)
}

pub async fn add_domain(
    req: HttpRequest,
    state: web::Data<AppState>,
    edit: TenantEdit<DomainForm>,
) -> DashResult {
    let slug = edit.tenant.slug.clone();
    let error = match check_domain(&state.settings, &edit.form.domain) {
        Ok(domain) => {
            let added = tenants::add_domain(
                &state.pool,
                edit.tenant.tenant_id,
                &domain,
                &edit.session.actor(),
            )
            .await;
            match added {
                Ok(()) => {
                    return Ok(see_other_with(
                        &state.settings,
                        &format!("/tenants/{slug}"),
                        "ok",
                        &format!(
                            "Domain {} added. Point its DNS at Gatehouse.",
                            domain.as_str()
                        ),
                    ));
                }
                Err(ServiceError::Conflict(taken)) => taken,
                Err(e) => return Err(e.into()),
            }
        }
        Err(e) => e.message,
    };
    let view = as_view(&edit);
    let name = view.tenant.display_name.clone();
    overview_page(
        &req,
        &state,
        &view,
        (name, None),
        (edit.form.domain.clone(), Some(error)),
    )
    .await
}

pub async fn remove_domain(state: web::Data<AppState>, edit: TenantEdit<DomainForm>) -> DashResult {
    let slug = edit.tenant.slug.clone();
    let domain = edit.form.domain.trim().to_ascii_lowercase();
    if tenants::remove_domain(
        &state.pool,
        edit.tenant.tenant_id,
        &domain,
        &edit.session.actor(),
    )
    .await?
    {
        Ok(see_other_with(
            &state.settings,
            &format!("/tenants/{slug}"),
            "ok",
            &format!("Domain {domain} removed."),
        ))
    } else {
        Ok(see_other_with(
            &state.settings,
            &format!("/tenants/{slug}"),
            "error",
            "That domain was not configured.",
        ))
    }
}
