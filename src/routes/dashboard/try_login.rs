//! "Try": a real login through a connection, run by the tenant's built-in tester client. The
//! dashboard keeps the state and PKCE verifier server side, bound to the admin's session,
//! sends the browser to the tenant's `/authorize`, and `/tester/callback` redeems the code and
//! shows "It works!" with the profile, or which step failed and what the upstream answered.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::page::{not_found, render, render_status, DashResult, Empty, Layout, TenantNav};
use super::session::{AdminSession, TenantEdit};
use super::tenants::{issuer, layout};
use crate::crypto::random::{opaque_token, s256, secure_eq, token_hash};
use crate::db;
use crate::db::events::{EventFilter, Order};
use crate::db::tenants::Tenant;
use crate::domain::event_kind::{CODE_REDEEMED, LOGIN_FAILURE};
use crate::error::PageError;
use crate::services::tenants::TESTER_CALLBACK_PATH;
use crate::state::AppState;

/// How long a "Try" may take from the button to the callback.
const TRY_SECONDS: i64 = 600;

/// The page between the Try button and the tenant's `/authorize`. A redirect would not do:
/// browsers apply the `form-action 'self'` policy of the page that posted the form to every
/// redirect that follows it, and `/authorize` lives on another host (then the provider on yet another).
/// A script navigation from this page (or the link, without JavaScript) is not a form's.
#[derive(Template)]
#[template(path = "dashboard/try/start.html")]
pub struct TryStartPage {
    pub layout: Layout,
    pub connection: String,
    pub authorize_url: String,
}

pub async fn start(
    req: HttpRequest,
    state: web::Data<AppState>,
    edit: TenantEdit<Empty>,
    path: web::Path<(String, String)>,
) -> DashResult {
    let tenant_id = edit.tenant.tenant_id;
    let connection = super::connections::find(&state, tenant_id, &path.1).await?;
    let tester = db::clients::tester(&state.pool, tenant_id)
        .await?
        .ok_or_else(|| PageError::internal(anyhow::anyhow!("tenant has no tester client")))?;
    let upstream_state = opaque_token(32);
    let verifier = opaque_token(32);
    let attempt = db::sessions::TryAttempt {
        tenant_id,
        connection_id: connection.connection_id.clone(),
        code_verifier: verifier.clone(),
        created_at: Utc::now(),
    };
    db::sessions::insert_try(
        &state.pool,
        &token_hash(&upstream_state),
        &edit.session.session_hash,
        &attempt,
        attempt.created_at + chrono::Duration::seconds(TRY_SECONDS),
    )
    .await?;
    let redirect_uri = format!("{}{TESTER_CALLBACK_PATH}", state.settings.admin_origin());
    let query = serde_urlencoded::to_string([
        ("client_id", tester.client_id.as_str()),
        ("redirect_uri", &redirect_uri),
        ("response_type", "code"),
        ("scope", "openid profile email"),
        ("connection", &connection.name),
        ("state", &upstream_state),
        ("code_challenge", &s256(&verifier)),
        ("code_challenge_method", "S256"),
    ])
    .map_err(PageError::internal)?;
    let authorize_url = format!("{}authorize?{query}", issuer(&state.settings, &edit.tenant));
    let page = TryStartPage {
        layout: tenant_layout(&req, &state, &edit.session, &edit.tenant),
        connection: connection.name,
        authorize_url,
    };
    render(&req, &state.settings, &page)
}

/// One identity on the "It works!" page.
pub struct IdentityView {
    pub connection: String,
    pub provider: String,
    pub user_id: String,
    pub profile_data: String,
}

#[derive(Template)]
#[template(path = "dashboard/try/works.html")]
pub struct ItWorksPage {
    pub layout: Layout,
    pub connection: String,
    pub connection_id: String,
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub nickname: String,
    pub picture: String,
    pub locale: String,
    pub identities: Vec<IdentityView>,
    pub profile_json: String,
}

#[derive(Template)]
#[template(path = "dashboard/try/failed.html")]
pub struct TryFailedPage {
    pub layout: Layout,
    pub connection: String,
    pub connection_id: String,
    pub error: String,
    pub error_description: String,
    pub failed_step: String,
    pub description: String,
    pub upstream_status: String,
    pub upstream_answer: String,
    pub trace_id: String,
    pub event_id: String,
}

/// What a spent Try's callback shows (a reload of its result, an expired or foreign Try): a
/// dashboard page with a way back, not a bare error card.
#[derive(Template)]
#[template(path = "dashboard/try/over.html")]
pub struct TryOverPage {
    pub layout: Layout,
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn tenant_layout(
    req: &HttpRequest,
    state: &AppState,
    session: &AdminSession,
    tenant: &Tenant,
) -> Layout {
    Layout {
        tenant: Some(TenantNav {
            slug: tenant.slug.clone(),
            name: tenant.display_name.clone(),
            tab: "connections",
            can_edit: true,
        }),
        ..layout(req, &state.settings, session)
    }
}

pub async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: AdminSession,
    query: web::Query<CallbackQuery>,
) -> DashResult {
    let over = || {
        let page = TryOverPage {
            layout: layout(&req, &state.settings, &session),
        };
        render_status(&req, &state.settings, StatusCode::BAD_REQUEST, &page)
    };
    let Some(upstream_state) = query.state.as_deref().filter(|s| s.len() <= 200) else {
        return over();
    };
    let attempt = db::sessions::take_try(
        &state.pool,
        &token_hash(upstream_state),
        &session.session_hash,
    )
    .await?;
    let Some(attempt) = attempt else {
        return over();
    };
    let tenant = db::tenants::by_id(&state.pool, attempt.tenant_id)
        .await?
        .ok_or_else(not_found)?;
    if !session.is_operator
        && db::admins::role_in(&state.pool, tenant.tenant_id, session.admin_id)
            .await?
            .is_none()
    {
        return Err(not_found());
    }
    let connection =
        db::connections::by_id(&state.pool, tenant.tenant_id, &attempt.connection_id).await?;
    let connection_name = connection
        .as_ref()
        .map(|c| c.name.clone())
        .unwrap_or_default();
    let tester = db::clients::tester(&state.pool, tenant.tenant_id)
        .await?
        .ok_or_else(not_found)?;
    let layout = tenant_layout(&req, &state, &session, &tenant);

    let failed = |error: &str, description: &str| TryFailedPage {
        layout: layout.clone(),
        connection: connection_name.clone(),
        connection_id: attempt.connection_id.clone(),
        error: error.to_owned(),
        error_description: description.to_owned(),
        failed_step: String::new(),
        description: String::new(),
        upstream_status: String::new(),
        upstream_answer: String::new(),
        trace_id: String::new(),
        event_id: String::new(),
    };

    if let Some(error) = &query.error {
        let mut page = failed(
            &clip(error, 100),
            &clip(query.error_description.as_deref().unwrap_or(""), 500),
        );
        let filter = EventFilter {
            event_types: Some(vec![LOGIN_FAILURE.into()]),
            client_id: Some(tester.client_id.clone()),
            from: Some(attempt.created_at - chrono::Duration::seconds(1)),
            ..Default::default()
        };
        if let Some(event) = db::events::page(
            &state.pool,
            tenant.tenant_id,
            &filter,
            Order::NewestFirst,
            0,
            1,
        )
        .await?
        .pop()
        {
            let d = &event.details;
            page.failed_step = text(d.get("failed_step"));
            page.description = event.description.clone();
            page.upstream_status = text(d.pointer("/upstream/status"));
            page.upstream_answer = text(d.pointer("/upstream/answer"));
            page.trace_id = event.trace_id.map(|t| t.to_string()).unwrap_or_default();
            page.event_id = event.event_id.to_string();
        }
        return render(&req, &state.settings, &page);
    }

    let Some(code) = query.code.as_deref().filter(|c| c.len() <= 200) else {
        return render(
            &req,
            &state.settings,
            &failed(
                "invalid_request",
                "The callback carried neither a code nor an error.",
            ),
        );
    };
    let Some(record) = db::login::redeem_code(
        &state.pool,
        tenant.tenant_id,
        &token_hash(code),
        Uuid::new_v4(),
    )
    .await?
    else {
        return render(
            &req,
            &state.settings,
            &failed(
                "invalid_grant",
                "The authorization code is unknown or was already used.",
            ),
        );
    };
    let redirect_uri = format!("{}{TESTER_CALLBACK_PATH}", state.settings.admin_origin());
    let pkce_ok = record
        .code_challenge
        .as_deref()
        .is_some_and(|c| secure_eq(s256(&attempt.code_verifier).as_bytes(), c.as_bytes()));
    if record.client_id != tester.client_id
        || record.redirect_uri != redirect_uri
        || record.expires_at < Utc::now()
        || !pkce_ok
    {
        return render(&req, &state.settings, &failed("invalid_grant", "The authorization code does not belong to this Try (client, redirect URI, expiry or PKCE verifier differ)."));
    }
    let _ = db::events::record(
        &state.pool,
        tenant.tenant_id,
        &db::events::NewEvent {
            event_type: CODE_REDEEMED,
            trace_id: Some(record.trace_id),
            client_id: Some(record.client_id.clone()),
            user_id: Some(record.user_id.clone()),
            description: "authorization code redeemed by the dashboard's Try".into(),
            details: json!({ "step": "code_redeemed", "outcome": "ok" }),
            ..Default::default()
        }
        .by(&session.actor()),
    )
    .await;
    let user = db::users::by_id(&state.pool, tenant.tenant_id, &record.user_id)
        .await?
        .ok_or_else(|| PageError::bad_request("The user of this login was deleted meanwhile."))?;
    let identities = db::users::identities(&state.pool, tenant.tenant_id, &user.user_id).await?;
    let mut profile = serde_json::to_value(&user).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut profile {
        map.insert(
            "identities".into(),
            Value::Array(
                identities
                    .iter()
                    .map(|i| {
                        json!({
                            "connection": i.connection_name,
                            "provider": i.provider,
                            "user_id": i.provider_user_id,
                            "isSocial": true,
                            "profileData": i.profile_data,
                        })
                    })
                    .collect(),
            ),
        );
    }
    let page = ItWorksPage {
        layout,
        connection: connection_name,
        connection_id: attempt.connection_id,
        user_id: user.user_id.clone(),
        name: user.name.clone().unwrap_or_default(),
        email: user.email.clone().unwrap_or_default(),
        nickname: user.nickname.clone().unwrap_or_default(),
        picture: user.picture.clone().unwrap_or_default(),
        locale: user.locale.clone().unwrap_or_default(),
        identities: identities
            .iter()
            .map(|i| IdentityView {
                connection: i.connection_name.clone(),
                provider: i.provider.clone(),
                user_id: i.provider_user_id.clone(),
                profile_data: serde_json::to_string_pretty(&i.profile_data).unwrap_or_default(),
            })
            .collect(),
        profile_json: serde_json::to_string_pretty(&profile).unwrap_or_default(),
    };
    render(&req, &state.settings, &page)
}

fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// A JSON value as text for the page: strings as they are, other values as JSON.
fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => clip(s, 4000),
        Some(other) => clip(&other.to_string(), 4000),
    }
}
