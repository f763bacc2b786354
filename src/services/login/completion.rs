//! Completing a login when the provider sends the user back: the transaction consumed (state
//! and browser must match) before anything is sent upstream, the provider's code exchanged
//! once, the profile read, and the user, identity, the application's code and the success
//! event stored in one statement.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use secrecy::ExposeSecret;
use serde_json::json;
use uuid::Uuid;

use super::trace::LoginTrace;
use super::{LoginContext, CODE_SECONDS};
use crate::cache::LiveConnection;
use crate::crypto::random::{opaque_token, token_hash};
use crate::crypto::seal::SealContext;
use crate::db;
use crate::db::connections::Connection;
use crate::db::failure::{classify, Failure};
use crate::db::login::{
    AuthorizationCode, CompletedLogin, Completion, LoginIdentity, LoginTransaction,
};
use crate::db::retry::patiently;
use crate::db::users::RootAttributesPolicy;
use crate::domain::Requester;
use crate::providers::{
    upstream_http, Callback, LoginMemo, LoginStep, NormalizedProfile, Upstream, UpstreamError,
    UpstreamFailure, UpstreamTokens,
};
use crate::services::hosts::TenantHost;

/// Consumes the login transaction named by the upstream `state` if the browser that started it
/// is the one back, and it has not expired: at most once.
pub async fn take_transaction(
    cx: &LoginContext<'_>,
    tenant: &TenantHost,
    upstream_state: &str,
    browser_cookie: &str,
) -> Result<Option<LoginTransaction>, sqlx::Error> {
    let (state_hash, browser_hash) = (token_hash(upstream_state), token_hash(browser_cookie));
    // Every attempt of this request takes it as the same taker, so a repeat after a lost
    // answer gets it again; another request (a replayed callback) does not.
    let taker = Uuid::new_v4();
    patiently(cx.patience, |_| {
        db::login::take_transaction(cx.pool, tenant.id(), &state_hash, &browser_hash, taker)
    })
    .await
}

/// What the provider sent back with the user.
pub struct ProviderAnswer<'a> {
    pub code: Option<&'a str>,
    pub error: Option<&'a str>,
    pub error_description: Option<&'a str>,
    /// RFC 9207's issuer identifier.
    pub iss: Option<&'a str>,
}

/// How the login ends for the application.
#[derive(Debug)]
pub enum Outcome {
    /// The application's single-use code.
    Code(String),
    /// An OAuth error for the application, with a description it may show.
    Failed {
        error: &'static str,
        description: &'static str,
    },
    /// The user is blocked: Auth0's `unauthorized` / `user is blocked`, which applications
    /// match on by its text.
    UserBlocked,
}

impl Outcome {
    fn failed(error: &'static str, description: &'static str) -> Self {
        Outcome::Failed { error, description }
    }
}

/// Completes the login of `txn`: every failure past reading its connection is recorded in the
/// login's trace, and the application gets an OAuth error rather than an error page.
pub async fn complete(
    cx: &LoginContext<'_>,
    tenant: &TenantHost,
    txn: &LoginTransaction,
    answer: ProviderAnswer<'_>,
    requester: Requester,
) -> Result<Outcome, sqlx::Error> {
    let live = cx
        .cache
        .connection_by_id(cx.pool, cx.sealer, tenant.id(), &txn.connection_id)
        .await?;
    Ok(with_connection(cx, tenant, txn, live, answer, requester).await)
}

async fn with_connection(
    cx: &LoginContext<'_>,
    tenant: &TenantHost,
    txn: &LoginTransaction,
    live: Option<Arc<LiveConnection>>,
    answer: ProviderAnswer<'_>,
    requester: Requester,
) -> Outcome {
    let mut trace = LoginTrace::new(txn.trace_id, requester);
    trace.earlier(LoginStep::Authorize, txn.created_at);
    trace.client_id = Some(txn.client_id.clone());
    let Some(live) = live else {
        trace
            .fail(
                cx,
                tenant,
                LoginStep::Callback,
                "the connection was deleted during the login",
                None,
            )
            .await;
        return Outcome::failed("server_error", "the connection no longer exists");
    };
    let connection = &live.connection;
    trace.connection = Some(connection.name.clone());
    // Recorded on the request's span, which the middleware attaches to this future. (A span
    // entered here with a guard would stay entered on the worker thread at every `.await` and
    // wrap the next request polled there: log lines nested other requests, ever deeper.)
    tracing::Span::current().record("connection", connection.name.as_str());

    if let Some(error) = answer.error {
        return refused_upstream(cx, tenant, trace, error, answer.error_description).await;
    }
    let Some(code) = answer.code else {
        trace
            .fail(
                cx,
                tenant,
                LoginStep::Callback,
                "the provider sent neither a code nor an error",
                None,
            )
            .await;
        return Outcome::failed("server_error", "the identity provider sent no code");
    };
    trace.ok(LoginStep::Callback);

    let (strategy, config) = match &live.upstream {
        Ok((strategy, config)) => (*strategy, config),
        Err(e) => {
            tracing::error!(error = %e, "connection cannot be used");
            trace
                .fail(
                    cx,
                    tenant,
                    LoginStep::UpstreamTokenExchange,
                    "the connection is misconfigured",
                    None,
                )
                .await;
            return Outcome::failed("server_error", "the connection is misconfigured");
        }
    };
    let memo = match open_memo(cx, tenant, txn) {
        Ok(memo) => memo,
        Err(description) => {
            trace
                .fail(cx, tenant, LoginStep::Callback, description, None)
                .await;
            return Outcome::failed("server_error", "the login could not be continued");
        }
    };
    let redirect_uri = tenant.url("login/callback");
    let upstream = Upstream {
        http: cx.upstream,
        config,
        redirect_uri: &redirect_uri,
        connection: &connection.name,
    };
    let callback = Callback {
        code,
        iss: answer.iss,
    };
    let started = Instant::now();
    let exchanged = strategy.exchange_code(upstream, &callback, &memo).await;
    cx.metrics.upstream_call(
        strategy.name(),
        "token",
        exchanged.as_ref().err().map(|e| e.failure),
        started.elapsed(),
    );
    let tokens = match exchanged {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(step = e.step.as_str(), status = ?e.status, "upstream code exchange failed");
            trace
                .fail(cx, tenant, e.step, &e.description, Some(&e))
                .await;
            return Outcome::failed(
                e.oauth_error(),
                "the identity provider did not complete the login",
            );
        }
    };
    trace.ok(LoginStep::UpstreamTokenExchange);
    let started = Instant::now();
    let fetched = strategy.fetch_profile(upstream, &tokens, &memo).await;
    cx.metrics.upstream_call(
        strategy.name(),
        "profile",
        fetched.as_ref().err().map(|e| e.failure),
        started.elapsed(),
    );
    let profile = match fetched {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(step = e.step.as_str(), status = ?e.status, "upstream profile fetch failed");
            trace
                .fail(cx, tenant, e.step, &e.description, Some(&e))
                .await;
            return Outcome::failed(
                e.oauth_error(),
                "the identity provider did not return a usable profile",
            );
        }
    };
    trace.ok(LoginStep::ProfileFetch);

    let code = opaque_token(32);
    let stored = store(
        cx, tenant, txn, connection, &profile, &tokens, &code, &trace,
    )
    .await;
    match stored {
        Ok(Completion::Stored) => {
            cx.metrics
                .login_completed(&tenant.tenant.slug, &connection.name);
            tracing::info!(user.id = %profile.user_id, "login completed");
            Outcome::Code(code)
        }
        Ok(Completion::UserBlocked) => {
            tracing::info!(user.id = %profile.user_id, "login refused: the user is blocked");
            trace
                .fail(
                    cx,
                    tenant,
                    LoginStep::UserBlocked,
                    &format!("the user {} is blocked", profile.user_id),
                    None,
                )
                .await;
            Outcome::UserBlocked
        }
        Err(e) => store_failed(cx, tenant, trace, e).await,
    }
}

/// What the strategy remembered of this login, opened.
fn open_memo(
    cx: &LoginContext<'_>,
    tenant: &TenantHost,
    txn: &LoginTransaction,
) -> Result<LoginMemo, &'static str> {
    let Some(sealed) = &txn.upstream_sealed else {
        return Ok(LoginMemo::default());
    };
    let opened = cx
        .sealer
        .open_string(sealed, &SealContext::login_memo(tenant.id(), txn.trace_id))
        .map_err(|_| "the login's sealed memo could not be opened")?;
    serde_json::from_str(opened.expose_secret()).map_err(|_| "the login's memo is unreadable")
}

/// The provider answered with an error instead of a code (the user declined, say).
async fn refused_upstream(
    cx: &LoginContext<'_>,
    tenant: &TenantHost,
    trace: LoginTrace,
    error: &str,
    description: Option<&str>,
) -> Outcome {
    let answer = upstream_http::redact(
        format!(
            "error={error} error_description={}",
            description.unwrap_or("")
        )
        .as_bytes(),
        &[],
    );
    let upstream = UpstreamError {
        step: LoginStep::Callback,
        failure: UpstreamFailure::Refused,
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
                cx,
                tenant,
                LoginStep::Callback,
                "the user declined access at the provider",
                Some(&upstream),
            )
            .await;
        return Outcome::failed("access_denied", "the user declined access");
    }
    trace
        .fail(
            cx,
            tenant,
            LoginStep::Callback,
            &upstream.description,
            Some(&upstream),
        )
        .await;
    Outcome::failed("server_error", "the identity provider returned an error")
}

/// The database failed while the login was being stored (or its connection read).
async fn store_failed(
    cx: &LoginContext<'_>,
    tenant: &TenantHost,
    trace: LoginTrace,
    err: anyhow::Error,
) -> Outcome {
    let (error, text) = match classify(&err) {
        Failure::Unavailable => (
            "temporarily_unavailable",
            "the service is temporarily unavailable",
        ),
        _ => ("server_error", "the user could not be stored"),
    };
    trace
        .fail(cx, tenant, LoginStep::UserUpsert, text, None)
        .await;
    Outcome::failed(error, text)
}

/// Stores the user and identity, issues the application's code and records the login, in one
/// statement: either all of it happens or none (none for a blocked user).
#[allow(clippy::too_many_arguments)]
async fn store(
    cx: &LoginContext<'_>,
    tenant: &TenantHost,
    txn: &LoginTransaction,
    connection: &Connection,
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
    let sealed_tokens = cx.sealer.seal_str(
        &json!({
            "access_token": tokens.access_token.expose_secret(),
            "refresh_token": tokens.refresh_token.as_ref().map(|t| t.expose_secret().to_owned()),
            "expires_at": tokens.expires_in.map(|s| Utc::now() + chrono::Duration::seconds(s as i64)),
        })
        .to_string(),
        &SealContext::identity_tokens(tenant.id(), &profile.user_id, &connection.connection_id),
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
    let code_hash = token_hash(code);
    let completed = CompletedLogin {
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
        code_hash: &code_hash,
        code: &record,
        event: &event,
    };
    // One statement; a repeat first looks for the code an earlier attempt may have stored
    // before its answer was lost, so the user is never stored (and counted) twice.
    let (completed, code_hash) = (&completed, &code_hash);
    patiently(cx.patience, |attempt| async move {
        if attempt > 1
            && db::login::code(cx.pool, tenant.id(), code_hash)
                .await?
                .is_some()
        {
            return Ok(Completion::Stored);
        }
        db::login::complete(cx.pool, tenant.id(), completed).await
    })
    .await
    .map_err(Into::into)
}
