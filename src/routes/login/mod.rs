//! The login endpoints of a tenant host: `/authorize`, `/login/callback`, `/oauth/token`,
//! `/oauth/revoke`, `/userinfo`, discovery, JWKS and logout (`/v2/logout`, `/oidc/logout`).

pub mod authorize;
pub mod callback;
pub mod cors;
pub mod discovery;
pub mod logout;
pub mod params;
pub mod redirect;
pub mod revoke;
pub mod token;
pub mod userinfo;

use actix_web::http::Method;
use actix_web::web;

use crate::config::{PublicScheme, Settings};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/authorize", web::get().to(authorize::get))
        .route("/login/callback", web::get().to(callback::get))
        .route("/oauth/token", web::post().to(token::post))
        .route(
            "/oauth/token",
            web::method(Method::OPTIONS).to(cors::preflight_post),
        )
        .route("/oauth/revoke", web::post().to(revoke::post))
        .route(
            "/oauth/revoke",
            web::method(Method::OPTIONS).to(cors::preflight_post),
        )
        .route("/userinfo", web::get().to(userinfo::handle))
        .route("/userinfo", web::post().to(userinfo::handle))
        .route(
            "/userinfo",
            web::method(Method::OPTIONS).to(cors::preflight_get_post),
        )
        .route(
            "/.well-known/openid-configuration",
            web::get().to(discovery::openid_configuration),
        )
        .route("/.well-known/jwks.json", web::get().to(discovery::jwks))
        .route("/v2/logout", web::get().to(logout::get))
        .route("/oidc/logout", web::get().to(logout::get));
}

/// The cookie binding a login transaction to the browser that started it; with the `__Host-`
/// prefix when served over https.
pub fn browser_cookie_name(settings: &Settings) -> &'static str {
    match settings.public_scheme {
        PublicScheme::Https => "__Host-gatehouse-login",
        PublicScheme::Http => "gatehouse-login",
    }
}
