//! `GET /authorize`: checks the application and its redirect URI (an error page when they
//! cannot be trusted), then the request (an OAuth error redirect when they can), then starts a
//! login transaction bound to this browser and sends the user to the upstream provider.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use uuid::Uuid;

use super::browser_cookie_name;
use super::params::Params;
use super::redirect::{AppRedirect, ResponseMode};
use crate::crypto::random::opaque_token;
use crate::db;
use crate::db::clients::Client;
use crate::db::login::LoginTransaction;
use crate::error::PageError;
use crate::providers::LoginStep;
use crate::services::login::start::{self, StartError};
use crate::services::login::trace::LoginTrace;
use crate::services::login::TRANSACTION_SECONDS;
use crate::state::AppState;
use crate::tenancy::TenantHost;

/// Scopes a client may ask for.
pub const SUPPORTED_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

#[derive(Template)]
#[template(path = "login/chooser.html")]
struct ChooserPage<'a> {
    tenant_name: &'a str,
    client_name: &'a str,
    buttons: Vec<(String, String)>,
}

pub async fn get(
    req: HttpRequest,
    tenant: TenantHost,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string())
        .map_err(|e| PageError::bad_request(format!("Invalid login request: {e}.")))?;

    // 1. Who is asking, and may we send the answer where they say? If not: a page, never a redirect.
    let client_id = params.get("client_id").ok_or_else(|| {
        PageError::bad_request("The login request names no application (client_id is missing).")
    })?;
    let client = state
        .cache
        .client(&state.pool, tenant.id(), client_id)
        .await?
        .ok_or_else(|| {
            PageError::bad_request("The login request names an unknown application (client_id).")
        })?;
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if client.callbacks.iter().any(|c| c == uri) => uri.to_owned(),
        Some(_) => {
            return Err(PageError::bad_request(
                "The redirect_uri of this login request is not one of the application's allowed callback URLs. \
                 Add it exactly (scheme, host, port, path and query) to the application's callbacks.",
            ))
        }
        None if client.callbacks.len() == 1 => client.callbacks[0].clone(),
        None => return Err(PageError::bad_request("The login request has no redirect_uri, and the application has several callbacks.")),
    };
    let mode = match ResponseMode::parse(params.get("response_mode")) {
        // A message goes only to a window of an origin the application lists (as at Auth0).
        Some(ResponseMode::WebMessage) if !web_message_allowed(&client, &redirect_uri) => Err(
            "response_mode=web_message needs the origin of the redirect_uri among the application's allowed web origins",
        ),
        Some(mode) => Ok(mode),
        None => Err("response_mode must be query, form_post or web_message"),
    };
    let mode = match mode {
        Ok(mode) => mode,
        Err(why) => {
            // The redirect URI is trusted, but the mode cannot be honoured: answer by query.
            let back = AppRedirect {
                redirect_uri,
                mode: ResponseMode::Query,
                state: params.get("state").map(str::to_owned),
                issuer: tenant.issuer.clone(),
                trace_id: None,
            };
            return Ok(back.error("invalid_request", why));
        }
    };
    let back = AppRedirect {
        redirect_uri: redirect_uri.clone(),
        mode,
        state: params.get("state").map(str::to_owned),
        issuer: tenant.issuer.clone(),
        trace_id: None,
    };

    let trace_id = Uuid::new_v4();
    let back = AppRedirect {
        trace_id: Some(trace_id),
        ..back
    };
    tracing::Span::current().record("trace_id", tracing::field::display(trace_id));
    tracing::Span::current().record("client", client.client_id.as_str());
    let mut trace = LoginTrace::new(
        trace_id,
        crate::domain::Requester::of(&req, &state.settings.trusted_proxies),
    );
    trace.client_id = Some(client.client_id.clone());
    trace.connection = params
        .get("connection")
        .map(|c| c.chars().take(128).collect());

    // 2. The request itself: failures go back to the application.
    let request = match check_request(&params, &client) {
        Ok(r) => r,
        Err((error, description)) => {
            trace
                .fail(
                    &state.login(),
                    &tenant,
                    LoginStep::Authorize,
                    &description,
                    None,
                )
                .await;
            return Ok(back.error(error, &description));
        }
    };

    // 3. Which connection: chosen by the application, or by the user on the chooser page.
    let Some(connection_name) = params.get("connection") else {
        return chooser(&req, &state, &tenant, &client).await;
    };
    let live = state
        .cache
        .connection_by_name(&state.pool, &state.sealer, tenant.id(), connection_name)
        .await?
        .filter(|c| client.is_tester || c.enabled_clients.contains(&client.client_id));
    let Some(live) = live else {
        let description = "the connection does not exist or is not enabled for this application";
        trace
            .fail(
                &state.login(),
                &tenant,
                LoginStep::Authorize,
                description,
                None,
            )
            .await;
        return Ok(back.error("invalid_request", description));
    };
    let connection = &live.connection;
    let (strategy, upstream) = match &live.upstream {
        Ok((strategy, upstream)) => (*strategy, upstream),
        Err(e) => {
            tracing::error!(error = %e, trace_id = %trace_id, "connection cannot be used");
            trace
                .fail(
                    &state.login(),
                    &tenant,
                    LoginStep::Authorize,
                    "the connection is misconfigured",
                    None,
                )
                .await;
            return Ok(back.error("server_error", "the connection is misconfigured"));
        }
    };
    trace.ok(LoginStep::Authorize);

    // 4. The transaction, bound to this browser, then off to the provider.
    let cookie_name = browser_cookie_name(&state.settings);
    let browser = req
        .cookie(cookie_name)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() >= 32 && v.len() <= 64)
        .unwrap_or_else(|| opaque_token(32));
    let txn = LoginTransaction {
        trace_id,
        client_id: client.client_id.clone(),
        connection_id: connection.connection_id.clone(),
        redirect_uri,
        response_mode: mode.as_str().into(),
        app_state: params.get("state").map(str::to_owned),
        nonce: request.nonce,
        scope: request.scope,
        code_challenge: request.code_challenge,
        created_at: Utc::now(),
        upstream_sealed: None,
    };
    let started = start::begin(
        &state.login(),
        &tenant,
        &connection.name,
        (strategy, upstream),
        txn,
        &browser,
    )
    .await;
    let location = match started {
        Ok(location) => location,
        Err(StartError::Database(e)) => return Err(e.into()),
        Err(StartError::Upstream(e)) => {
            tracing::warn!(step = e.step.as_str(), trace_id = %trace_id, "the upstream could not be prepared for");
            trace
                .fail(&state.login(), &tenant, e.step, &e.description, Some(&e))
                .await;
            return Ok(back.error(
                e.oauth_error(),
                "the identity provider could not be reached",
            ));
        }
    };
    tracing::Span::current().record("connection", connection.name.as_str());
    tracing::info!(trace_id = %trace_id, tenant.slug = %tenant.tenant.slug, client.id = %client.client_id, connection.name = %connection.name, "login started");
    let cookie = Cookie::build(cookie_name, browser)
        .path("/")
        .http_only(true)
        .secure(state.settings.public_scheme == crate::config::PublicScheme::Https)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(
            TRANSACTION_SECONDS,
        ))
        .finish();
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .cookie(cookie)
        .finish())
}

/// What a well-formed authorization request asks for.
struct CheckedRequest {
    scope: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
}

/// Whether a web message may carry the answer: to the redirect URI's origin, only if the
/// application lists it among its web origins.
fn web_message_allowed(client: &Client, redirect_uri: &str) -> bool {
    url::Url::parse(redirect_uri)
        .map(|u| super::cors::client_allows(client, &u.origin().ascii_serialization()))
        .unwrap_or(false)
}

fn check_request(
    params: &Params,
    client: &Client,
) -> Result<CheckedRequest, (&'static str, String)> {
    match params.get("response_type") {
        Some("code") => {}
        Some(_) => {
            return Err((
                "unsupported_response_type",
                "only response_type=code is supported".into(),
            ))
        }
        None => return Err(("invalid_request", "response_type is required".into())),
    }
    if !client.grant_types.iter().any(|g| g == "authorization_code") {
        return Err((
            "unauthorized_client",
            "the application may not use the authorization code grant".into(),
        ));
    }
    let scope = params.get("scope").unwrap_or("openid");
    let mut scopes: Vec<&str> = Vec::new();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if !SUPPORTED_SCOPES.contains(&s) {
            return Err((
                "invalid_scope",
                format!(
                    "unsupported scope `{}`; supported: {}",
                    s.chars().take(40).collect::<String>(),
                    SUPPORTED_SCOPES.join(" ")
                ),
            ));
        }
        if !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    if !scopes.contains(&"openid") {
        return Err(("invalid_scope", "scope must include openid".into()));
    }
    if params.get("state").is_some_and(|s| s.len() > 2048) {
        return Err(("invalid_request", "state is too long".into()));
    }
    if params.get("nonce").is_some_and(|s| s.len() > 512) {
        return Err(("invalid_request", "nonce is too long".into()));
    }
    match params.get("prompt") {
        None | Some("login") | Some("consent") | Some("select_account") => {}
        Some("none") => {
            return Err((
                "login_required",
                "there is no session to log in silently with".into(),
            ))
        }
        Some(_) => {
            return Err((
                "invalid_request",
                "prompt must be none, login, consent or select_account".into(),
            ))
        }
    }
    let code_challenge = match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, Some(_)) => {
            return Err((
                "invalid_request",
                "code_challenge_method without code_challenge".into(),
            ))
        }
        (Some(_), Some("plain")) => {
            return Err((
                "invalid_request",
                "code_challenge_method=plain is not allowed; use S256".into(),
            ))
        }
        (Some(_), Some(m)) if m != "S256" => {
            return Err((
                "invalid_request",
                "code_challenge_method must be S256".into(),
            ))
        }
        // Without a method RFC 7636 means plain, which is not allowed.
        (Some(_), None) => {
            return Err((
                "invalid_request",
                "code_challenge_method=S256 is required with code_challenge".into(),
            ))
        }
        (Some(c), Some(_)) => {
            let well_formed = c.len() == 43
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !well_formed {
                return Err((
                    "invalid_request",
                    "code_challenge must be a base64url SHA-256 (43 characters)".into(),
                ));
            }
            Some(c.to_owned())
        }
        (None, None) => None,
    };
    if client.token_endpoint_auth_method == "none" && code_challenge.is_none() {
        return Err((
            "invalid_request",
            "public applications must use PKCE (code_challenge with S256)".into(),
        ));
    }
    Ok(CheckedRequest {
        scope: scopes.join(" "),
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge,
    })
}

/// The page listing the application's connections, each a button that repeats this request
/// with `connection` set.
async fn chooser(
    req: &HttpRequest,
    state: &AppState,
    tenant: &TenantHost,
    client: &Client,
) -> Result<HttpResponse, PageError> {
    let connections = if client.is_tester {
        db::connections::page(&state.pool, tenant.id(), &Default::default(), 0, 100).await?
    } else {
        db::connections::enabled_for_client(&state.pool, tenant.id(), &client.client_id).await?
    };
    let buttons: Vec<(String, String)> = connections
        .iter()
        .filter(|c| c.show_as_button)
        .map(|c| {
            let mut pairs: Vec<(String, String)> =
                serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
            pairs.retain(|(k, _)| k != "connection");
            pairs.push(("connection".into(), c.name.clone()));
            let href = format!(
                "/authorize?{}",
                serde_urlencoded::to_string(&pairs).unwrap_or_default()
            );
            let provider = crate::providers::by_name(&c.strategy)
                .map(|p| p.display_name())
                .unwrap_or("provider");
            let label = c
                .display_name
                .clone()
                .unwrap_or_else(|| provider.to_owned());
            (href, format!("Continue with {label}"))
        })
        .collect();
    if buttons.is_empty() {
        return Err(PageError::new(StatusCode::BAD_REQUEST, "No way to log in", "This application has no login connections enabled yet. Enable a connection for it in the Gatehouse dashboard."));
    }
    let page = ChooserPage {
        tenant_name: &tenant.tenant.display_name,
        client_name: &client.name,
        buttons,
    };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page.render().map_err(PageError::internal)?))
}
