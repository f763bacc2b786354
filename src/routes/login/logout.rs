//! Logout: `GET /v2/logout` (Auth0's: `client_id` and `returnTo`) and `GET /oidc/logout`
//! (OpenID Connect RP-Initiated Logout, what discovery's `end_session_endpoint` names and what
//! standard OIDC libraries send: `post_logout_redirect_uri`, `id_token_hint`, `state`). Both
//! paths take both spellings. The login cookie ends; the browser goes back only to an allowed
//! logout URL of the application, otherwise it is shown a page.

use actix_web::cookie::Cookie;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::browser_cookie_name;
use super::params::Params;
use crate::db;
use crate::error::PageError;
use crate::services::tokens::{id_token_hint_audience, Rejection};
use crate::state::AppState;
use crate::tenancy::TenantHost;

/// Where to send the browser after logging out, as the request asked.
struct ReturnTo<'a> {
    url: &'a str,
    /// Named as OIDC does (`post_logout_redirect_uri`): `state` then goes back with it.
    oidc: bool,
}

fn return_to<'a>(params: &'a Params) -> Result<Option<ReturnTo<'a>>, PageError> {
    match (
        params.get("post_logout_redirect_uri"),
        params.get("returnTo"),
    ) {
        (Some(a), Some(b)) if a != b => Err(PageError::bad_request(
            "post_logout_redirect_uri and returnTo name different places.",
        )),
        (Some(url), _) => Ok(Some(ReturnTo { url, oidc: true })),
        (None, Some(url)) => Ok(Some(ReturnTo { url, oidc: false })),
        (None, None) => Ok(None),
    }
}

/// The application the logout is for: `client_id`, or the audience of `id_token_hint`; when
/// both are given they must agree.
async fn client_id(
    params: &Params,
    state: &AppState,
    tenant: &TenantHost,
) -> Result<String, PageError> {
    let hinted = match params.get("id_token_hint") {
        None => None,
        Some(hint) => match id_token_hint_audience(&state.cache, &state.pool, tenant, hint).await {
            Ok(audience) => Some(audience),
            Err(Rejection::Invalid(_)) => return Err(PageError::bad_request(
                "The id_token_hint of this logout request is not an ID token this tenant issued.",
            )),
            Err(Rejection::Internal(e)) => return Err(PageError::internal(e)),
        },
    };
    match (params.get("client_id"), hinted) {
        (Some(id), Some(audience)) if !audience.iter().any(|a| a == id) => {
            Err(PageError::bad_request(
                "The client_id of this logout request is not the application its id_token_hint was issued to.",
            ))
        }
        (Some(id), _) => Ok(id.to_owned()),
        (None, Some(audience)) if audience.len() == 1 => Ok(audience[0].clone()),
        (None, _) => Err(PageError::bad_request(
            "A logout that returns to the application needs its client_id (or an id_token_hint) \
             whose allowed logout URLs include the return URL.",
        )),
    }
}

pub async fn get(
    req: HttpRequest,
    tenant: TenantHost,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string())
        .map_err(|e| PageError::bad_request(format!("Invalid logout request: {e}.")))?;
    let mut clear = Cookie::new(browser_cookie_name(&state.settings), "");
    clear.set_path("/");
    clear.make_removal();
    let Some(target) = return_to(&params)? else {
        return Ok(PageError::new(
            StatusCode::OK,
            "Logged out",
            "You are logged out. You can close this window.",
        )
        .render_with_cookie(clear));
    };
    let client_id = client_id(&params, &state, &tenant).await?;
    let client = db::clients::by_id(&state.pool, tenant.id(), &client_id)
        .await?
        .ok_or_else(|| {
            PageError::bad_request("The logout request names an unknown application.")
        })?;
    if !client.allowed_logout_urls.iter().any(|u| u == target.url) {
        return Err(PageError::bad_request(
            "The return URL of this logout request is not one of the application's allowed logout URLs.",
        ));
    }
    let location = match (target.oidc, params.get("state")) {
        (true, Some(app_state)) => match url::Url::parse(target.url) {
            Ok(mut url) => {
                url.query_pairs_mut().append_pair("state", app_state);
                url.to_string()
            }
            Err(_) => target.url.to_owned(),
        },
        _ => target.url.to_owned(),
    };
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .cookie(clear)
        .finish())
}
