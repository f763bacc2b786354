//! `GET /v2/logout`: ends the login cookie and returns to `returnTo` only if it is an allowed
//! logout URL of the named application; otherwise shows a page.

use actix_web::cookie::Cookie;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::browser_cookie_name;
use super::params::Params;
use crate::db;
use crate::error::PageError;
use crate::state::AppState;
use crate::tenancy::TenantHost;

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
    let Some(return_to) = params.get("returnTo") else {
        return Ok(PageError::new(
            actix_web::http::StatusCode::OK,
            "Logged out",
            "You are logged out. You can close this window.",
        )
        .render_with_cookie(clear));
    };
    let client_id = params.get("client_id").ok_or_else(|| {
        PageError::bad_request("returnTo needs a client_id whose allowed logout URLs include it.")
    })?;
    let client = db::clients::by_id(&state.pool, tenant.id(), client_id)
        .await?
        .ok_or_else(|| {
            PageError::bad_request("The logout request names an unknown application.")
        })?;
    if !client.allowed_logout_urls.iter().any(|u| u == return_to) {
        return Err(PageError::bad_request(
            "returnTo is not one of the application's allowed logout URLs.",
        ));
    }
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, return_to.to_owned()))
        .cookie(clear)
        .finish())
}
