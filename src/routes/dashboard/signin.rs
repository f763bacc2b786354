//! `/signin` and `/signout`. Failed sign-ins are counted in PostgreSQL per account and per
//! client address (so throttling holds across nodes) and answered `429` past the limit; an
//! unknown e-mail and a wrong password get the same answer after the same argon2id work.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use secrecy::SecretString;
use serde::Deserialize;

use super::page::{render_status, see_other, see_other_with, DashResult, Empty, Layout};
use super::session::{self, presession_token, AdminSession, Posted, PreSessionForm, IDLE_SECONDS};
use crate::crypto::password::MAX_PASSWORD_CHARS;
use crate::crypto::random::token_hash;
use crate::db;
use crate::services;
use crate::state::AppState;

/// Failed sign-ins counted over this window.
pub const WINDOW_SECONDS: i64 = 15 * 60;
/// Failures per account within the window before further tries are refused.
pub const ACCOUNT_LIMIT: i64 = 5;
/// Failures per client address within the window.
pub const ADDRESS_LIMIT: i64 = 20;

const WRONG: &str = "Wrong e-mail address or password.";

#[derive(Template)]
#[template(path = "dashboard/signin.html")]
pub struct SigninPage {
    pub layout: Layout,
    pub csrf: String,
    pub email: String,
    pub next: String,
    pub error: Option<String>,
}

#[derive(Deserialize)]
pub struct SigninQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct SigninForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// Where to go after signing in: a local path only (never `//host` or a full URL).
fn safe_next(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 500
        && !next.chars().any(|c| c.is_control());
    if ok && next != "/signin" {
        next.to_owned()
    } else {
        "/tenants".to_owned()
    }
}

pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<SigninQuery>,
) -> DashResult {
    if db::admins::count(&state.pool).await? == 0 {
        return Ok(see_other("/setup"));
    }
    let next = safe_next(query.next.as_deref().unwrap_or(""));
    if AdminSession::find(&req, &state).await?.is_some() {
        return Ok(see_other(&next));
    }
    let (csrf, new_cookie) = presession_token(&req, &state.settings);
    let page = SigninPage {
        layout: Layout {
            flash: super::page::read_flash(&req, &state.settings),
            ..Default::default()
        },
        csrf,
        email: String::new(),
        next,
        error: None,
    };
    let mut res = render_status(&req, &state.settings, StatusCode::OK, &page)?;
    if let Some(c) = new_cookie {
        let _ = res.add_cookie(&c);
    }
    Ok(res)
}

/// The client address failures are counted under: the TCP peer, or the client a trusted
/// reverse proxy names (`GATEHOUSE_TRUSTED_PROXIES`). The per-account limit holds either way.
fn address(req: &HttpRequest, state: &AppState) -> String {
    crate::client_addr::client_ip(req, &state.settings.trusted_proxies)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Seconds until the oldest failure leaves the window, if `key` is over `limit`.
async fn throttled(state: &AppState, key: &str, limit: i64) -> Result<Option<i64>, sqlx::Error> {
    let (count, oldest) = db::sessions::recent_failures(&state.pool, key, WINDOW_SECONDS).await?;
    Ok((count >= limit).then(|| {
        oldest
            .map(|t| (t + chrono::Duration::seconds(WINDOW_SECONDS) - Utc::now()).num_seconds())
            .unwrap_or(WINDOW_SECONDS)
            .clamp(1, WINDOW_SECONDS)
    }))
}

pub async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    posted: PreSessionForm<SigninForm>,
) -> DashResult {
    let form = posted.form;
    let (csrf, _) = presession_token(&req, &state.settings);
    let email_key: String = form.email.trim().to_lowercase().chars().take(254).collect();
    let account_key = format!("account:{email_key}");
    let address_key = format!("ip:{}", address(&req, &state));
    let next = safe_next(&form.next);
    let answer = |status: StatusCode, error: String| {
        let page = SigninPage {
            layout: Layout::default(),
            csrf: csrf.clone(),
            email: email_key.clone(),
            next: next.clone(),
            error: Some(error),
        };
        render_status(&req, &state.settings, status, &page)
    };

    let mut wait = throttled(&state, &account_key, ACCOUNT_LIMIT).await?;
    if wait.is_none() {
        wait = throttled(&state, &address_key, ADDRESS_LIMIT).await?;
    }
    if let Some(seconds) = wait {
        let minutes = (seconds + 59) / 60;
        let mut res = answer(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many failed sign-ins. Try again in {minutes} minute(s)."),
        )?;
        if let Ok(v) = header::HeaderValue::from_str(&seconds.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(res);
    }

    // Oversized input is refused before any hashing.
    let within_limits = form.email.len() <= 254
        && form.password.len() <= MAX_PASSWORD_CHARS * 4
        && form.password.chars().count() <= MAX_PASSWORD_CHARS;
    let admin = if within_limits {
        let password = SecretString::from(form.password);
        services::admins::authenticate(&state.pool, &form.email, &password).await?
    } else {
        None
    };
    let Some(admin) = admin else {
        db::sessions::record_failure(&state.pool, &account_key, WINDOW_SECONDS).await?;
        db::sessions::record_failure(&state.pool, &address_key, WINDOW_SECONDS).await?;
        tracing::info!("dashboard sign-in failed");
        return answer(StatusCode::UNAUTHORIZED, WRONG.to_owned());
    };

    db::sessions::clear_failures(&state.pool, &account_key).await?;
    // Whatever session id the browser brought is dropped: sign-in always gets a new one.
    if let Some(old) = req.cookie(session::session_cookie_name(&state.settings)) {
        db::sessions::delete(&state.pool, &token_hash(old.value())).await?;
    }
    if let Err(e) = db::sessions::purge_expired(&state.pool, IDLE_SECONDS).await {
        tracing::debug!(error = %e, "session purge skipped");
    }
    let cookie = session::start(&state, admin.admin_id).await?;
    tracing::info!(admin.id = %admin.admin_id, "dashboard sign-in");
    let mut res = see_other(&next);
    let _ = res.add_cookie(&cookie);
    Ok(res)
}

pub async fn signout(state: web::Data<AppState>, posted: Posted<Empty>) -> DashResult {
    db::sessions::delete(&state.pool, &posted.session.session_hash).await?;
    let mut res: HttpResponse =
        see_other_with(&state.settings, "/signin", "ok", "You are signed out.");
    let _ = res.add_cookie(&session::cleared(&state.settings));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_only_ever_a_local_path() {
        assert_eq!(safe_next("/tenants/acme?x=1"), "/tenants/acme?x=1");
        for bad in [
            "",
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "javascript:alert(1)",
            "/signin",
            "/a\nb",
        ] {
            assert_eq!(safe_next(bad), "/tenants", "{bad:?}");
        }
    }
}
