//! Users of a tenant: list with search by e-mail, detail with identities, deletion with a
//! confirmation step. Profiles come from upstream providers: user-controlled text, always
//! escaped by the templates.

use actix_web::{web, HttpRequest};
use askama::Template;
use serde::Deserialize;

use super::page::{encode, not_found, render, see_other_with, DashResult, Layout, Pager};
use super::session::{TenantEdit, TenantView};
use super::tenants::tenant_layout;
use crate::db;
use crate::services;
use crate::state::AppState;

const PAGE_SIZE: i64 = 50;

pub struct UserRow {
    pub user_id: String,
    pub link_id: String,
    pub name: String,
    pub email: String,
    pub logins: i32,
    pub last_login: String,
    pub blocked: bool,
}

#[derive(Template)]
#[template(path = "dashboard/users/list.html")]
pub struct UsersPage {
    pub layout: Layout,
    pub users: Vec<UserRow>,
    pub pager: Pager,
    pub email: String,
}

pub struct IdentityRow {
    pub connection: String,
    pub provider: String,
    pub user_id: String,
    pub profile_data: String,
}

#[derive(Template)]
#[template(path = "dashboard/users/detail.html")]
pub struct UserPage {
    pub layout: Layout,
    pub user_id: String,
    pub link_id: String,
    pub blocked: bool,
    pub fields: Vec<(&'static str, String)>,
    pub identities: Vec<IdentityRow>,
}

#[derive(Template)]
#[template(path = "dashboard/users/delete.html")]
pub struct DeleteUserPage {
    pub layout: Layout,
    pub user_id: String,
    pub name: String,
}

#[derive(Deserialize)]
pub struct ListQuery {
    email: Option<String>,
    page: Option<String>,
}

fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "never".into())
}

pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    view: TenantView,
    query: web::Query<ListQuery>,
) -> DashResult {
    let email = query
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty() && e.len() <= 254);
    let number = Pager::requested(query.page.as_deref());
    let users = db::users::page(
        &state.pool,
        view.tenant.tenant_id,
        email,
        number * PAGE_SIZE,
        PAGE_SIZE,
    )
    .await?;
    let total = db::users::count(&state.pool, view.tenant.tenant_id, email).await?;
    let slug = &view.tenant.slug;
    let pager = Pager::new(number, PAGE_SIZE, users.len(), total, |n| match email {
        Some(email) => format!("/tenants/{slug}/users?email={}&page={n}", encode(email)),
        None => format!("/tenants/{slug}/users?page={n}"),
    });
    let page = UsersPage {
        layout: tenant_layout(&req, &state.settings, &view, "users"),
        users: users
            .into_iter()
            .map(|u| UserRow {
                link_id: encode(&u.user_id),
                name: u.name.unwrap_or_default(),
                email: u.email.unwrap_or_default(),
                logins: u.logins_count,
                last_login: when(u.last_login),
                blocked: u.blocked,
                user_id: u.user_id,
            })
            .collect(),
        pager,
        email: email.unwrap_or_default().to_owned(),
    };
    render(&req, &state.settings, &page)
}

#[derive(Deserialize)]
pub struct UserQuery {
    #[serde(default)]
    id: String,
}

pub async fn detail(
    req: HttpRequest,
    state: web::Data<AppState>,
    view: TenantView,
    query: web::Query<UserQuery>,
) -> DashResult {
    let user = db::users::by_id(&state.pool, view.tenant.tenant_id, &query.id)
        .await?
        .ok_or_else(not_found)?;
    let identities =
        db::users::identities(&state.pool, view.tenant.tenant_id, &user.user_id).await?;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let fields = vec![
        ("Name", opt(&user.name)),
        ("E-mail", opt(&user.email)),
        (
            "E-mail verified",
            if user.email_verified { "yes" } else { "no" }.to_owned(),
        ),
        ("Nickname", opt(&user.nickname)),
        ("Given name", opt(&user.given_name)),
        ("Family name", opt(&user.family_name)),
        ("Picture", opt(&user.picture)),
        ("Locale", opt(&user.locale)),
        ("Logins", user.logins_count.to_string()),
        ("Last login", when(user.last_login)),
        ("Created", when(Some(user.created_at))),
    ];
    let page = UserPage {
        layout: tenant_layout(&req, &state.settings, &view, "users"),
        link_id: encode(&user.user_id),
        blocked: user.blocked,
        user_id: user.user_id,
        fields,
        identities: identities
            .into_iter()
            .map(|i| IdentityRow {
                connection: i.connection_name,
                provider: i.provider,
                user_id: i.provider_user_id,
                profile_data: serde_json::to_string_pretty(&i.profile_data).unwrap_or_default(),
            })
            .collect(),
    };
    render(&req, &state.settings, &page)
}

pub async fn confirm_delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    view: TenantView,
    query: web::Query<UserQuery>,
) -> DashResult {
    let user = db::users::by_id(&state.pool, view.tenant.tenant_id, &query.id)
        .await?
        .ok_or_else(not_found)?;
    let page = DeleteUserPage {
        layout: tenant_layout(&req, &state.settings, &view, "users"),
        name: user.name.clone().or(user.email.clone()).unwrap_or_default(),
        user_id: user.user_id,
    };
    render(&req, &state.settings, &page)
}

#[derive(Deserialize)]
pub struct BlockForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    blocked: String,
}

/// Blocks or unblocks the user, back to their page.
pub async fn block(state: web::Data<AppState>, edit: TenantEdit<BlockForm>) -> DashResult {
    let blocked = edit.form.blocked == "true";
    services::users::set_blocked(
        &state.pool,
        edit.tenant.tenant_id,
        &edit.form.id,
        blocked,
        None,
        &edit.session.actor(),
    )
    .await?;
    let text = if blocked {
        "User blocked: their logins, refresh tokens and /userinfo are refused until unblocked."
    } else {
        "User unblocked."
    };
    Ok(see_other_with(
        &state.settings,
        &format!(
            "/tenants/{}/users/view?id={}",
            edit.tenant.slug,
            encode(&edit.form.id)
        ),
        "ok",
        text,
    ))
}

pub async fn delete(state: web::Data<AppState>, edit: TenantEdit<UserQuery>) -> DashResult {
    services::users::delete(
        &state.pool,
        edit.tenant.tenant_id,
        &edit.form.id,
        None,
        &edit.session.actor(),
    )
    .await?;
    Ok(see_other_with(
        &state.settings,
        &format!("/tenants/{}/users", edit.tenant.slug),
        "ok",
        "User deleted; their refresh tokens are revoked.",
    ))
}
