//! `GET /login/callback`: where the upstream provider sends the user back. The transaction is
//! consumed atomically (state and browser must match) before anything is sent upstream; then
//! the code is exchanged once, the profile read, the user stored, and the application gets its
//! own single-use code.

use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use secrecy::ExposeSecret;
use serde_json::json;
use uuid::Uuid;

use super::params::Params;
use super::redirect::{AppRedirect, ResponseMode};
use super::trace::LoginTrace;
use super::{browser_cookie_name, CODE_SECONDS};
use crate::crypto::random::{opaque_token, token_hash};
use crate::crypto::seal::SealContext;
use crate::db;
use crate::db::login::{AuthorizationCode, CompletedLogin, Completion, LoginIdentity};
use crate::db::users::RootAttributesPolicy;
use crate::error::PageError;
use crate::providers::{LoginStep, NormalizedProfile, UpstreamTokens};
use crate::state::AppState;
use crate::tenancy::TenantHost;

/// What the sealed upstream tokens of an identity are bound to.
pub fn tokens_context(tenant_id: Uuid, user_id: &str, connection_id: &str) -> SealContext {
    SealContext::new(
        tenant_id,
        &format!("identity:{user_id}:{connection_id}:tokens"),
    )
}

pub async fn get(
    req: HttpRequest,
    tenant: TenantHost,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string())
        .map_err(|e| PageError::bad_request(format!("Invalid callback: {e}.")))?;
    let upstream_state = params
        .get("state")
        .ok_or_else(|| PageError::bad_request("The login cannot continue: the provider sent no state. Start the login again from the application."))?;
    let browser = req
        .cookie(browser_cookie_name(&state.settings))
        .ok_or_else(|| PageError::bad_request("The login cannot continue in this browser: it was started elsewhere, or cookies are blocked. Start the login again from the application."))?;
    let txn = db::login::take_transaction(&state.pool, tenant.id(), &token_hash(upstream_state), &token_hash(browser.value()))
        .await?
        .ok_or_else(|| PageError::bad_request("This login has expired, was already completed, or was started in another browser. Start the login again from the application."))?;

    let mut trace = LoginTrace::new(
        txn.trace_id,
        crate::client_addr::Requester::of(&req, &state.settings.trusted_proxies),
    );
    trace.earlier(LoginStep::Authorize, txn.created_at);
    trace.client_id = Some(txn.client_id.clone());
    let back = AppRedirect {
        redirect_uri: txn.redirect_uri.clone(),
        mode: ResponseMode::parse(Some(&txn.response_mode)).unwrap_or(ResponseMode::Query),
        state: txn.app_state.clone(),
        issuer: tenant.issuer.clone(),
        trace_id: Some(txn.trace_id),
    };
    tracing::Span::current().record("trace_id", tracing::field::display(txn.trace_id));
    tracing::Span::current().record("client", txn.client_id.as_str());
    let pool = &state.pool;
    let live = state
        .cache
        .connection_by_id(pool, &state.sealer, tenant.id(), &txn.connection_id)
        .await?;
    let connection = match &live {
        Some(live) => &live.connection,
        None => {
            trace
                .fail(
                    &state,
                    &tenant,
                    LoginStep::Callback,
                    "the connection was deleted during the login",
                    None,
                )
                .await;
            return Ok(back.error("server_error", "the connection no longer exists"));
        }
    };
    trace.connection = Some(connection.name.clone());
    // Recorded on the request's span, which the middleware attaches to this future. (A span
    // entered here with a guard would stay entered on the worker thread at every `.await` and
    // wrap the next request polled there: log lines nested other requests, ever deeper.)
    tracing::Span::current().record("connection", connection.name.as_str());

    if let Some(error) = params.get("error") {
        let description = params.get("error_description").unwrap_or("");
        let answer = crate::providers::upstream_http::redact(
            format!("error={error} error_description={description}").as_bytes(),
            &[],
        );
        let upstream = crate::providers::UpstreamError {
            step: LoginStep::Callback,
            failure: crate::providers::UpstreamFailure::Refused,
            status: None,
            answer: Some(answer),
            description: format!(
                "the provider returned error={}",
                error.chars().take(64).collect::<String>()
            ),
        };
        if error == "access_denied" {
            trace
                .fail(
                    &state,
                    &tenant,
                    LoginStep::Callback,
                    "the user declined access at the provider",
                    Some(&upstream),
                )
                .await;
            return Ok(back.error("access_denied", "the user declined access"));
        }
        trace
            .fail(
                &state,
                &tenant,
                LoginStep::Callback,
                &upstream.description,
                Some(&upstream),
            )
            .await;
        return Ok(back.error("server_error", "the identity provider returned an error"));
    }
    let Some(code) = params.get("code") else {
        trace
            .fail(
                &state,
                &tenant,
                LoginStep::Callback,
                "the provider sent neither a code nor an error",
                None,
            )
            .await;
        return Ok(back.error("server_error", "the identity provider sent no code"));
    };
    trace.ok(LoginStep::Callback);

    let upstream_of = live.as_ref().map(|l| &l.upstream);
    let (provider, upstream) = match upstream_of {
        Some(Ok((provider, upstream))) => (*provider, upstream),
        unusable => {
            match unusable {
                Some(Err(e)) => tracing::error!(error = %e, "connection cannot be used"),
                _ => tracing::error!("connection vanished during the login"),
            }
            trace
                .fail(
                    &state,
                    &tenant,
                    LoginStep::UpstreamTokenExchange,
                    "the connection is misconfigured",
                    None,
                )
                .await;
            return Ok(back.error("server_error", "the connection is misconfigured"));
        }
    };
    let started = Instant::now();
    let exchanged = provider
        .exchange_code(
            &state.upstream,
            upstream,
            code,
            &tenant.url("login/callback"),
        )
        .await;
    state.metrics.upstream_call(
        provider.strategy(),
        "token",
        exchanged.as_ref().err().map(|e| e.failure),
        started.elapsed(),
    );
    let tokens = match exchanged {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(step = e.step.as_str(), status = ?e.status, "upstream code exchange failed");
            trace
                .fail(&state, &tenant, e.step, &e.description, Some(&e))
                .await;
            return Ok(back.error(
                e.oauth_error(),
                "the identity provider did not complete the login",
            ));
        }
    };
    trace.ok(LoginStep::UpstreamTokenExchange);
    let started = Instant::now();
    let fetched = provider
        .fetch_profile(&state.upstream, upstream, &tokens)
        .await;
    state.metrics.upstream_call(
        provider.strategy(),
        "profile",
        fetched.as_ref().err().map(|e| e.failure),
        started.elapsed(),
    );
    let profile = match fetched {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(step = e.step.as_str(), status = ?e.status, "upstream profile fetch failed");
            trace
                .fail(&state, &tenant, e.step, &e.description, Some(&e))
                .await;
            return Ok(back.error(
                e.oauth_error(),
                "the identity provider did not return a usable profile",
            ));
        }
    };
    trace.ok(LoginStep::ProfileFetch);

    let code = opaque_token(32);
    match finish_login(
        &state, &tenant, &txn, connection, &profile, &tokens, &code, &trace,
    )
    .await
    {
        Ok(Completion::Stored) => {
            state
                .metrics
                .login_completed(&tenant.tenant.slug, &connection.name);
            tracing::info!(user.id = %profile.user_id, "login completed");
            Ok(back.code(&code))
        }
        Ok(Completion::UserBlocked) => {
            tracing::info!(user.id = %profile.user_id, "login refused: the user is blocked");
            trace
                .fail(
                    &state,
                    &tenant,
                    LoginStep::UserBlocked,
                    &format!("the user {} is blocked", profile.user_id),
                    None,
                )
                .await;
            // Auth0's answer for a blocked user, which applications check for by its text.
            Ok(back.exact_error("unauthorized", "user is blocked"))
        }
        Err(e) => {
            let status = crate::error::log_internal(&e);
            let (error, text) = if status == actix_web::http::StatusCode::SERVICE_UNAVAILABLE {
                (
                    "temporarily_unavailable",
                    "the service is temporarily unavailable",
                )
            } else {
                ("server_error", "the user could not be stored")
            };
            trace
                .fail(&state, &tenant, LoginStep::UserUpsert, text, None)
                .await;
            Ok(back.error(error, text))
        }
    }
}

/// Stores the user and identity, issues the application's code and records the login, in one
/// statement: either all of it happens or none (none for a blocked user).
#[allow(clippy::too_many_arguments)]
async fn finish_login(
    state: &AppState,
    tenant: &TenantHost,
    txn: &db::login::LoginTransaction,
    connection: &db::connections::Connection,
    profile: &NormalizedProfile,
    tokens: &UpstreamTokens,
    code: &str,
    trace: &LoginTrace,
) -> anyhow::Result<Completion> {
    let policy = match connection
        .options
        .get("set_user_root_attributes")
        .and_then(|v| v.as_str())
    {
        Some("on_first_login") => RootAttributesPolicy::OnFirstLogin,
        Some("never_on_login") => RootAttributesPolicy::NeverOnLogin,
        _ => RootAttributesPolicy::OnEachLogin,
    };
    let sealed_tokens = state.sealer.seal_str(
        &json!({
            "access_token": tokens.access_token.expose_secret(),
            "refresh_token": tokens.refresh_token.as_ref().map(|t| t.expose_secret().to_owned()),
            "expires_at": tokens.expires_in.map(|s| Utc::now() + chrono::Duration::seconds(s as i64)),
        })
        .to_string(),
        &tokens_context(tenant.id(), &profile.user_id, &connection.connection_id),
    );
    let now = Utc::now();
    let record = AuthorizationCode {
        trace_id: txn.trace_id,
        client_id: txn.client_id.clone(),
        user_id: profile.user_id.clone(),
        connection_id: connection.connection_id.clone(),
        redirect_uri: txn.redirect_uri.clone(),
        scope: txn.scope.clone(),
        nonce: txn.nonce.clone(),
        code_challenge: txn.code_challenge.clone(),
        auth_time: now,
        expires_at: now + chrono::Duration::seconds(CODE_SECONDS),
        used_at: None,
        family_id: None,
    };
    // The success event is part of the statement that stores the user and the code, so it
    // lists those steps as done: it is stored exactly when they all happened. (If the
    // statement fails, `trace` records the failure instead.)
    let mut done = trace.clone();
    done.ok(LoginStep::UserUpsert);
    done.ok(LoginStep::CodeIssued);
    let event = done.success_event(&profile.user_id);
    db::login::complete(
        &state.pool,
        tenant.id(),
        &CompletedLogin {
            user_id: &profile.user_id,
            attributes: &profile.root,
            policy,
            identity: LoginIdentity {
                connection_id: &connection.connection_id,
                connection_name: &connection.name,
                provider: &connection.strategy,
                provider_user_id: &profile.provider_user_id,
                profile_data: &profile.profile_data,
                tokens_sealed: &sealed_tokens,
            },
            code_hash: &token_hash(code),
            code: &record,
            event: &event,
        },
    )
    .await
    .map_err(Into::into)
}
