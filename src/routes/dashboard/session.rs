//! Who is asking, as extractors: `AdminSession` (a live server-side session), `Posted<T>` (a
//! form from this origin carrying the session's CSRF token), `TenantView` (a tenant the admin
//! may see) and `TenantEdit<T>` (a form changing a tenant the admin may change).
//!
//! The cookie holds a random id; only its SHA-256 is stored. Sessions end after 30 minutes
//! idle or 12 hours in all, at sign-out, and when the admin is removed.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use chrono::Utc;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use uuid::Uuid;

use super::page::{cookie, forbidden, not_found, DashError};
use crate::config::{PublicScheme, Settings};
use crate::crypto::random::{opaque_token, secure_eq, token_hash};
use crate::db;
use crate::db::tenants::Tenant;
use crate::domain::Requester;
use crate::error::PageError;
use crate::services::Actor;
use crate::state::AppState;

/// A session ends after this long without a request.
pub const IDLE_SECONDS: i64 = 30 * 60;
/// A session ends this long after sign-in, however busy.
pub const ABSOLUTE_SECONDS: i64 = 12 * 60 * 60;

pub fn session_cookie_name(settings: &Settings) -> &'static str {
    match settings.public_scheme {
        PublicScheme::Https => "__Host-gatehouse-admin",
        PublicScheme::Http => "gatehouse-admin",
    }
}

/// The cookie of the double-submit token that protects the forms shown before a session
/// exists (first run, sign-in).
pub fn presession_cookie_name(settings: &Settings) -> &'static str {
    match settings.public_scheme {
        PublicScheme::Https => "__Host-gatehouse-csrf",
        PublicScheme::Http => "gatehouse-csrf",
    }
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, DashError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| DashError::Page(PageError::internal(anyhow::anyhow!("state missing"))))
}

/// True when a state-changing request comes from a page of the dashboard itself: its
/// `Origin` (or, failing that, its `Referer`) is the admin origin.
pub fn same_origin(req: &HttpRequest, settings: &Settings) -> bool {
    let expected = settings.admin_origin();
    let text = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(origin) = text(header::ORIGIN) {
        return origin == expected;
    }
    match text(header::REFERER) {
        Some(referer) => referer == expected || referer.starts_with(&format!("{expected}/")),
        None => false,
    }
}

pub fn cross_origin() -> DashError {
    forbidden("This form was not sent from a Gatehouse page. Reload the page and try again.")
}

pub fn bad_token() -> DashError {
    forbidden(
        "This form has expired or did not come from this session. Reload the page and try again.",
    )
}

/// A signed-in admin with a live session.
#[derive(Clone, Debug)]
pub struct AdminSession {
    pub admin_id: Uuid,
    pub email: String,
    pub is_operator: bool,
    pub csrf_token: String,
    pub session_hash: Vec<u8>,
    /// Who sent this request, for the audit events of its changes.
    pub requester: Requester,
}

impl AdminSession {
    /// The session of this request, if the cookie names a live one.
    pub async fn find(req: &HttpRequest, state: &AppState) -> Result<Option<Self>, DashError> {
        let Some(c) = req.cookie(session_cookie_name(&state.settings)) else {
            return Ok(None);
        };
        if c.value().len() > 200 {
            return Ok(None);
        }
        let session_hash = token_hash(c.value());
        let live = db::sessions::touch(&state.pool, &session_hash, IDLE_SECONDS).await?;
        Ok(live.map(|l| AdminSession {
            admin_id: l.admin_id,
            email: l.email,
            is_operator: l.is_operator,
            csrf_token: l.csrf_token,
            session_hash,
            requester: Requester::of(req, &state.settings.trusted_proxies),
        }))
    }

    /// What the audit log records as the actor, and from where.
    pub fn actor(&self) -> Actor {
        Actor {
            name: format!("admin:{}", self.email),
            requester: self.requester.clone(),
        }
    }
}

/// Where to come back after signing in: this page, for GETs.
fn next_of(req: &HttpRequest) -> Option<String> {
    (req.method() == actix_web::http::Method::GET).then(|| {
        req.uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".to_owned())
    })
}

impl FromRequest for AdminSession {
    type Error = DashError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state_of(&req)?;
            AdminSession::find(&req, &state)
                .await?
                .ok_or_else(|| DashError::SignIn {
                    next: next_of(&req),
                })
        })
    }
}

/// Starts a session for `admin_id` (a fresh random id: never one the browser brought) and
/// returns the cookie to set.
pub async fn start(
    state: &AppState,
    admin_id: Uuid,
) -> Result<actix_web::cookie::Cookie<'static>, DashError> {
    let id = opaque_token(32);
    let csrf = opaque_token(32);
    let expires_at = Utc::now() + chrono::Duration::seconds(ABSOLUTE_SECONDS);
    db::sessions::insert(&state.pool, &token_hash(&id), admin_id, &csrf, expires_at).await?;
    Ok(cookie(
        &state.settings,
        session_cookie_name(&state.settings),
        id,
    ))
}

/// The removal of the session cookie.
pub fn cleared(settings: &Settings) -> actix_web::cookie::Cookie<'static> {
    let mut c = cookie(settings, session_cookie_name(settings), String::new());
    c.make_removal();
    c
}

#[derive(Deserialize, Default)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

async fn read_body(req: &HttpRequest, payload: &mut Payload) -> Result<web::Bytes, DashError> {
    web::Bytes::from_request(req, payload)
        .await
        .map_err(|_| DashError::Page(PageError::bad_request("The form could not be read.")))
}

fn parse_form<T: DeserializeOwned>(body: &[u8]) -> Result<T, DashError> {
    serde_urlencoded::from_bytes(body).map_err(|_| {
        DashError::Page(PageError::bad_request(
            "The form is incomplete or malformed. Reload the page and try again.",
        ))
    })
}

/// A form posted by a signed-in admin from a dashboard page, with the session's CSRF token.
pub struct Posted<T> {
    pub session: AdminSession,
    pub form: T,
}

impl<T: DeserializeOwned + 'static> FromRequest for Posted<T> {
    type Error = DashError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let state = state_of(&req)?;
            if !same_origin(&req, &state.settings) {
                return Err(cross_origin());
            }
            let session = AdminSession::find(&req, &state)
                .await?
                .ok_or(DashError::SignIn { next: None })?;
            let body = read_body(&req, &mut payload).await?;
            let token: CsrfField = serde_urlencoded::from_bytes(&body).unwrap_or_default();
            if !secure_eq(token.csrf.as_bytes(), session.csrf_token.as_bytes()) {
                return Err(bad_token());
            }
            let form = parse_form(&body)?;
            Ok(Posted { session, form })
        })
    }
}

/// A form shown before any session exists (first run, sign-in): same origin, and the hidden
/// token equal to the one in the pre-session cookie.
pub struct PreSessionForm<T> {
    pub form: T,
}

impl<T: DeserializeOwned + 'static> FromRequest for PreSessionForm<T> {
    type Error = DashError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let state = state_of(&req)?;
            if !same_origin(&req, &state.settings) {
                return Err(cross_origin());
            }
            let body = read_body(&req, &mut payload).await?;
            let token: CsrfField = serde_urlencoded::from_bytes(&body).unwrap_or_default();
            let expected = req
                .cookie(presession_cookie_name(&state.settings))
                .map(|c| c.value().to_owned())
                .unwrap_or_default();
            if expected.is_empty() || !secure_eq(token.csrf.as_bytes(), expected.as_bytes()) {
                return Err(bad_token());
            }
            Ok(PreSessionForm {
                form: parse_form(&body)?,
            })
        })
    }
}

/// The pre-session token of this browser, and the cookie to set when it had none.
pub fn presession_token(
    req: &HttpRequest,
    settings: &Settings,
) -> (String, Option<actix_web::cookie::Cookie<'static>>) {
    match req.cookie(presession_cookie_name(settings)) {
        Some(c) if !c.value().is_empty() && c.value().len() <= 100 => (c.value().to_owned(), None),
        _ => {
            let token = opaque_token(24);
            let c = cookie(settings, presession_cookie_name(settings), token.clone());
            (token, Some(c))
        }
    }
}

/// What an admin may do in a tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Admin,
    ReadOnly,
}

/// The tenant named by the `{slug}` of the path, if this admin may see it. A tenant that does
/// not exist and one the admin does not belong to get the same 404.
async fn tenant_access(
    req: &HttpRequest,
    state: &AppState,
    session: &AdminSession,
) -> Result<(Tenant, Role), DashError> {
    let slug = req.match_info().get("slug").unwrap_or_default();
    if slug.is_empty() || slug.len() > 64 {
        return Err(not_found());
    }
    let tenant = db::tenants::by_slug(&state.pool, slug)
        .await?
        .ok_or_else(not_found)?;
    if session.is_operator {
        return Ok((tenant, Role::Admin));
    }
    match db::admins::role_in(&state.pool, tenant.tenant_id, session.admin_id)
        .await?
        .as_deref()
    {
        Some("admin") => Ok((tenant, Role::Admin)),
        Some(_) => Ok((tenant, Role::ReadOnly)),
        None => Err(not_found()),
    }
}

/// A tenant page requested by an admin who may see it.
pub struct TenantView {
    pub session: AdminSession,
    pub tenant: Tenant,
    pub role: Role,
}

impl TenantView {
    pub fn can_edit(&self) -> bool {
        self.role == Role::Admin
    }
}

impl FromRequest for TenantView {
    type Error = DashError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state_of(&req)?;
            let session =
                AdminSession::find(&req, &state)
                    .await?
                    .ok_or_else(|| DashError::SignIn {
                        next: next_of(&req),
                    })?;
            let (tenant, role) = tenant_access(&req, &state, &session).await?;
            Ok(TenantView {
                session,
                tenant,
                role,
            })
        })
    }
}

/// A form changing a tenant, by an admin (not read-only) of that tenant.
pub struct TenantEdit<T> {
    pub session: AdminSession,
    pub tenant: Tenant,
    pub form: T,
}

impl<T: DeserializeOwned + 'static> FromRequest for TenantEdit<T> {
    type Error = DashError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let posted = Posted::<T>::from_request(&req, payload);
        Box::pin(async move {
            let state = state_of(&req)?;
            let Posted { session, form } = posted.await?;
            let (tenant, role) = tenant_access(&req, &state, &session).await?;
            if role != Role::Admin {
                return Err(forbidden(
                    "Your role in this tenant is read-only: you can look, but not change anything.",
                ));
            }
            Ok(TenantEdit {
                session,
                tenant,
                form,
            })
        })
    }
}
