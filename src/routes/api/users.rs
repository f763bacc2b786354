//! `/api/v2/users`: the people who logged in through the tenant's connections, with their
//! upstream identities (profile only: upstream tokens stay sealed and are never shown).
//! A user can be blocked (`PATCH` with `{"blocked": true}`; their profile comes from the
//! identity provider, so nothing else is changed here). Deleting a user also revokes their
//! refresh tokens.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;

use super::auth::ManagementToken;
use super::body::{Fields, JsonBody};
use super::etag;
use super::paging::{self, offset_answer, FieldSelection, Query};
use super::reply::{json_body, Reply};
use crate::db;
use crate::db::users::{Identity, User};
use crate::domain::FieldError;
use crate::error::ApiError;
use crate::services::{self, ServiceError};
use crate::state::AppState;

const KIND: &str = "user";
const MAX_EMAIL: usize = 320;

fn api(e: ServiceError) -> ApiError {
    ApiError::service(KIND, e)
}

/// Auth0's date format: RFC 3339 in UTC with milliseconds.
pub fn date(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn tag(user: &User) -> String {
    etag::tag(KIND, &user.user_id, user.updated_at.timestamp_micros())
}

/// An upstream identity of a user as Auth0 shows it: every connection here is a social one.
#[derive(Serialize)]
pub struct IdentityBody<'a> {
    connection: &'a str,
    provider: &'a str,
    user_id: &'a str,
    #[serde(rename = "isSocial")]
    is_social: bool,
    #[serde(rename = "profileData")]
    profile_data: &'a Value,
}

impl<'a> IdentityBody<'a> {
    pub fn new(identity: &'a Identity) -> Self {
        IdentityBody {
            connection: &identity.connection_name,
            provider: &identity.provider,
            user_id: &identity.provider_user_id,
            is_social: true,
            profile_data: &identity.profile_data,
        }
    }
}

/// The Auth0 shape of a user; attributes the upstream did not give are left out, as Auth0 does.
#[derive(Serialize)]
pub struct UserBody<'a> {
    user_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nickname: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    given_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    family_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    picture: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<&'a str>,
    email_verified: bool,
    created_at: String,
    updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_login: Option<String>,
    logins_count: i32,
    blocked: bool,
    identities: Vec<IdentityBody<'a>>,
}

impl<'a> UserBody<'a> {
    pub fn new(user: &'a User, identities: &[&'a Identity]) -> Self {
        UserBody {
            user_id: &user.user_id,
            email: user.email.as_deref(),
            name: user.name.as_deref(),
            nickname: user.nickname.as_deref(),
            given_name: user.given_name.as_deref(),
            family_name: user.family_name.as_deref(),
            picture: user.picture.as_deref(),
            locale: user.locale.as_deref(),
            email_verified: user.email_verified,
            created_at: date(&user.created_at),
            updated_at: date(&user.updated_at),
            last_login: user.last_login.as_ref().map(date),
            logins_count: user.logins_count,
            blocked: user.blocked,
            identities: identities.iter().map(|i| IdentityBody::new(i)).collect(),
        }
    }
}

/// A user as JSON, for the fields selection.
pub fn user_json(user: &User, identities: &[&Identity]) -> Value {
    json_body(&UserBody::new(user, identities))
}

/// The e-mail address a listing searches for: `email=` or Auth0's `q=email:"..."`.
fn email_search(q: &Query) -> Result<Option<String>, ApiError> {
    let email = q.text("email", MAX_EMAIL)?;
    let query = q.raw("q", MAX_EMAIL + 10)?;
    let from_q = match query.as_deref().map(str::trim) {
        None => None,
        Some(text) => {
            let address = text
                .strip_prefix("email:")
                .map(|a| a.trim().trim_matches('"'))
                .filter(|a| !a.is_empty() && !a.contains(char::is_whitespace));
            Some(address.map(str::to_owned).ok_or_else(|| {
                ApiError::invalid_query(FieldError::new(
                    "q",
                    "only an exact e-mail search is supported: email:\"someone@example.com\"",
                ))
            })?)
        }
    };
    match (email, from_q) {
        (Some(_), Some(_)) => Err(ApiError::invalid_query(FieldError::new(
            "q",
            "give either q or email, not both",
        ))),
        (e, q) => Ok(e.or(q)),
    }
}

pub async fn list(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    token.require("read:users")?;
    let q = Query::parse(&req);
    let (page, per_page, include_totals) = paging::offset(&q)?;
    let select = FieldSelection::parse(&q)?;
    let email = email_search(&q)?;
    let tenant_id = token.tenant_id();
    let users = db::users::page(
        &state.pool,
        tenant_id,
        email.as_deref(),
        page * per_page,
        per_page,
    )
    .await?;
    let total = if include_totals {
        Some(db::users::count(&state.pool, tenant_id, email.as_deref()).await?)
    } else {
        None
    };
    let items = with_identities(&state, tenant_id, &users, &select).await?;
    Ok(Reply::ok(offset_answer("users", items, page, per_page, total)).into_response())
}

/// The users as JSON with their identities (read in one statement for all of them).
async fn with_identities(
    state: &AppState,
    tenant_id: uuid::Uuid,
    users: &[User],
    select: &FieldSelection,
) -> Result<Vec<Value>, ApiError> {
    let ids: Vec<String> = users.iter().map(|u| u.user_id.clone()).collect();
    let identities = db::users::identities_of(&state.pool, tenant_id, &ids).await?;
    let mut by_user: HashMap<&str, Vec<&Identity>> = HashMap::new();
    for identity in &identities {
        by_user
            .entry(identity.user_id.as_str())
            .or_default()
            .push(identity);
    }
    Ok(users
        .iter()
        .map(|u| {
            let own = by_user
                .get(u.user_id.as_str())
                .map_or(&[][..], Vec::as_slice);
            select.apply(user_json(u, own))
        })
        .collect())
}

/// `GET /users-by-email?email=...`: the users with this e-mail address (compared without
/// regard to case), as a bare array.
pub async fn by_email(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    token.require("read:users")?;
    let q = Query::parse(&req);
    let select = FieldSelection::parse(&q)?;
    let email = q
        .text("email", MAX_EMAIL)?
        .ok_or_else(|| ApiError::invalid_query(FieldError::new("email", "is required")))?;
    let tenant_id = token.tenant_id();
    let users = db::users::page(
        &state.pool,
        tenant_id,
        Some(&email),
        0,
        paging::MAX_PER_PAGE,
    )
    .await?;
    let items = with_identities(&state, tenant_id, &users, &select).await?;
    Ok(Reply::ok(Value::Array(items)).into_response())
}

async fn find(state: &AppState, token: &ManagementToken, id: &str) -> Result<User, ApiError> {
    db::users::by_id(&state.pool, token.tenant_id(), id)
        .await?
        .ok_or_else(|| api(ServiceError::NotFound))
}

/// `GET /users/{id}`; the id is URL-encoded by callers (`exact%7C...`) and arrives decoded.
pub async fn get(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    token.require("read:users")?;
    let select = FieldSelection::parse(&Query::parse(&req))?;
    let user = find(&state, &token, &id).await?;
    let identities = db::users::identities(&state.pool, token.tenant_id(), &user.user_id).await?;
    let identities: Vec<&Identity> = identities.iter().collect();
    Ok(Reply::ok(select.apply(user_json(&user, &identities)))
        .with_etag(tag(&user))
        .unless_fresh(&req))
}

/// `PATCH /users/{id}`: `{"blocked": true|false}`, with `If-Match` honoured.
pub async fn update(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    token.require("update:users")?;
    let body = JsonBody::read(&req, payload).await?;
    let mut fields = Fields::new(body.value, &["blocked"]).map_err(|e| {
        FieldError::new(
            &e.field,
            format!(
                "{}; the profile comes from the identity provider at each login",
                e.message
            ),
        )
    })?;
    let blocked = fields
        .boolean("blocked")?
        .ok_or_else(|| FieldError::new("blocked", "is required (true or false)"))?;
    let current = find(&state, &token, &id).await?;
    let expected = etag::if_match(&req, &tag(&current))?.then_some(current.updated_at);
    let user = services::users::set_blocked(
        &state.pool,
        token.tenant_id(),
        &id,
        blocked,
        expected,
        &token.actor(),
    )
    .await
    .map_err(api)?;
    let identities = db::users::identities(&state.pool, token.tenant_id(), &user.user_id).await?;
    let identities: Vec<&Identity> = identities.iter().collect();
    Ok(Reply::ok(user_json(&user, &identities))
        .with_etag(tag(&user))
        .into_response())
}

pub async fn delete(
    token: ManagementToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    token.require("delete:users")?;
    let current = find(&state, &token, &id).await?;
    let expected = etag::if_match(&req, &tag(&current))?.then_some(current.updated_at);
    services::users::delete(
        &state.pool,
        token.tenant_id(),
        &id,
        expected,
        &token.actor(),
    )
    .await
    .map_err(api)?;
    Ok(Reply::no_content().into_response())
}
