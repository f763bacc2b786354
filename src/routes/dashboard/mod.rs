//! The admin dashboard on the admin host: server-rendered pages, one module per page, every
//! form protected by the session's CSRF token and a same-origin check (`session.rs`).
//!
//! | path | module |
//! |---|---|
//! | `/setup` (first run), `/signin`, `/signout` | `setup`, `signin` |
//! | `/tenants`, `/tenants/new` | `tenants` |
//! | `/tenants/{slug}` (overview and settings) | `overview` |
//! | `/tenants/{slug}/keys/rotate`, `/tenants/{slug}/keys/revoke` (signing keys, on the overview) | `signing_keys` |
//! | `/tenants/{slug}/applications/...` | `applications`, `application_form` |
//! | `/tenants/{slug}/connections/...` | `connections`, `connection_form`, `connection_apps`, `connection_health`, `try_login` |
//! | `/tester/callback` | `try_login` |
//! | `/tenants/{slug}/users/...`, `/tenants/{slug}/logs/...`, `/tenants/{slug}/admins/...` | `users`, `logs`, `admins` |

pub mod admins;
pub mod application_form;
pub mod applications;
pub mod connection_apps;
pub mod connection_badges;
pub mod connection_form;
pub mod connection_health;
pub mod connections;
pub mod logs;
pub mod overview;
pub mod page;
pub mod session;
pub mod setup;
pub mod signin;
pub mod signing_keys;
pub mod tenants;
pub mod try_login;
pub mod users;

use actix_web::middleware::DefaultHeaders;
use actix_web::web;

use crate::services::tenants::TESTER_CALLBACK_PATH;

async fn home() -> actix_web::HttpResponse {
    page::see_other("/tenants")
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    let t = "/tenants/{slug}";
    cfg.service(
        web::scope("")
            // Form posts must carry `Origin`; under `no-referrer` browsers send `Origin: null`.
            .wrap(DefaultHeaders::new().add(("Referrer-Policy", "same-origin")))
            .route("/", web::get().to(home))
            .route("/setup", web::get().to(setup::get))
            .route("/setup", web::post().to(setup::post))
            .route("/signin", web::get().to(signin::get))
            .route("/signin", web::post().to(signin::post))
            .route("/signout", web::post().to(signin::signout))
            .route("/tenants", web::get().to(tenants::list))
            .route("/tenants", web::post().to(tenants::create))
            .route("/tenants/new", web::get().to(tenants::new))
            .route(t, web::get().to(overview::overview))
            .route(
                &format!("{t}/settings"),
                web::post().to(overview::update_settings),
            )
            .route(
                &format!("{t}/domains"),
                web::post().to(overview::add_domain),
            )
            .route(
                &format!("{t}/domains/remove"),
                web::post().to(overview::remove_domain),
            )
            .route(
                &format!("{t}/keys/rotate"),
                web::post().to(signing_keys::rotate),
            )
            .route(
                &format!("{t}/keys/revoke"),
                web::post().to(signing_keys::revoke),
            )
            .route(
                &format!("{t}/keys/default-alg"),
                web::post().to(signing_keys::set_default_alg),
            )
            .route(
                &format!("{t}/applications"),
                web::get().to(applications::list),
            )
            .route(
                &format!("{t}/applications"),
                web::post().to(applications::create),
            )
            .route(
                &format!("{t}/applications/new"),
                web::get().to(applications::new),
            )
            .route(
                &format!("{t}/applications/{{id}}"),
                web::get().to(applications::show),
            )
            .route(
                &format!("{t}/applications/{{id}}"),
                web::post().to(applications::update),
            )
            .route(
                &format!("{t}/applications/{{id}}/rotate-secret"),
                web::post().to(applications::rotate_secret),
            )
            .route(
                &format!("{t}/applications/{{id}}/delete"),
                web::get().to(applications::confirm_delete),
            )
            .route(
                &format!("{t}/applications/{{id}}/delete"),
                web::post().to(applications::delete),
            )
            .route(
                &format!("{t}/connections"),
                web::get().to(connections::list),
            )
            .route(
                &format!("{t}/connections"),
                web::post().to(connections::create),
            )
            .route(
                &format!("{t}/connections/new"),
                web::get().to(connections::new),
            )
            .route(
                &format!("{t}/connections/{{id}}"),
                web::get().to(connections::show),
            )
            .route(
                &format!("{t}/connections/{{id}}"),
                web::post().to(connections::update),
            )
            .route(
                &format!("{t}/connections/{{id}}/applications"),
                web::get().to(connection_apps::show),
            )
            .route(
                &format!("{t}/connections/{{id}}/applications"),
                web::post().to(connection_apps::toggle),
            )
            .route(
                &format!("{t}/connections/{{id}}/health"),
                web::get().to(connection_health::show),
            )
            .route(
                &format!("{t}/connections/{{id}}/try"),
                web::post().to(try_login::start),
            )
            .route(
                &format!("{t}/connections/{{id}}/delete"),
                web::get().to(connections::confirm_delete),
            )
            .route(
                &format!("{t}/connections/{{id}}/delete"),
                web::post().to(connections::delete),
            )
            .route(&format!("{t}/users"), web::get().to(users::list))
            .route(&format!("{t}/users/view"), web::get().to(users::detail))
            .route(
                &format!("{t}/users/delete"),
                web::get().to(users::confirm_delete),
            )
            .route(&format!("{t}/users/delete"), web::post().to(users::delete))
            .route(&format!("{t}/users/block"), web::post().to(users::block))
            .route(&format!("{t}/logs"), web::get().to(logs::list))
            .route(&format!("{t}/logs/{{id}}"), web::get().to(logs::detail))
            .route(&format!("{t}/admins"), web::get().to(admins::list))
            .route(&format!("{t}/admins"), web::post().to(admins::invite))
            .route(
                &format!("{t}/admins/{{id}}/remove"),
                web::post().to(admins::remove),
            )
            .route(TESTER_CALLBACK_PATH, web::get().to(try_login::callback)),
    );
}
