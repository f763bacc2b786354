//! `GET /login/callback`: where the upstream provider sends the user back. The route reads the
//! provider's answer and the browser's cookie, the login service completes the login
//! (`services::login::completion`), and the application gets its code or an OAuth error at
//! its redirect URI.

use actix_web::{web, HttpRequest, HttpResponse};

use super::browser_cookie_name;
use super::params::Params;
use super::redirect::{AppRedirect, ResponseMode};
use crate::domain::Requester;
use crate::error::PageError;
use crate::services::login::completion::{self, Outcome, ProviderAnswer};
use crate::state::AppState;
use crate::tenancy::TenantHost;

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
    let cx = state.login();
    let txn = completion::take_transaction(&cx, &tenant, upstream_state, browser.value())
        .await?
        .ok_or_else(|| PageError::bad_request("This login has expired, was already completed, or was started in another browser. Start the login again from the application."))?;
    tracing::Span::current().record("trace_id", tracing::field::display(txn.trace_id));
    tracing::Span::current().record("client", txn.client_id.as_str());
    let back = AppRedirect {
        redirect_uri: txn.redirect_uri.clone(),
        mode: ResponseMode::parse(Some(&txn.response_mode)).unwrap_or(ResponseMode::Query),
        state: txn.app_state.clone(),
        issuer: tenant.issuer.clone(),
        trace_id: Some(txn.trace_id),
    };
    let answer = ProviderAnswer {
        code: params.get("code"),
        error: params.get("error"),
        error_description: params.get("error_description"),
        iss: params.get("iss"),
    };
    let requester = Requester::of(&req, &state.settings.trusted_proxies);
    Ok(
        match completion::complete(&cx, &tenant, &txn, answer, requester).await? {
            Outcome::Code(code) => back.code(&code),
            Outcome::Failed { error, description } => back.error(error, description),
            // Auth0's answer for a blocked user, which applications check for by its text.
            Outcome::UserBlocked => back.exact_error("unauthorized", "user is blocked"),
        },
    )
}
