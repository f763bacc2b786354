//! The management API (`/api/v2/...`) on tenant hosts, in Auth0's shapes: connections,
//! applications and their grants, users, logs and signing keys, with ETags, `If-Match`,
//! `Idempotency-Key` and errors as `{statusCode, error, message, errorCode}` throughout.

mod auth;
mod body;
mod client_grants;
mod clients;
mod connection_clients;
mod connections;
mod etag;
mod idempotency;
mod keys;
mod logs;
mod openapi;
mod paging;
mod patient_reads;
mod reply;
mod stats;
mod users;

use actix_web::http::header::ALLOW;
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpResponse, ResponseError, Route};

use crate::error::ApiError;

pub use auth::ManagementToken;
pub use body::MAX_BODY_BYTES;

/// A resource answering `routes` by method, and 405 in Auth0's shape to any other method.
fn resource(path: &str, routes: Vec<(Method, Route)>) -> actix_web::Resource {
    let allowed: Vec<String> = routes.iter().map(|(m, _)| m.to_string()).collect();
    let allow = allowed.join(", ");
    let mut resource = web::resource(path);
    for (_, route) in routes {
        resource = resource.route(route);
    }
    resource.default_service(web::to(move || {
        let allow = allow.clone();
        async move {
            let mut res = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("This endpoint answers {allow} only"),
            )
            .error_response();
            if let Ok(value) = allow.parse() {
                res.headers_mut().insert(ALLOW, value);
            }
            res
        }
    }))
}

async fn not_found() -> HttpResponse {
    ApiError::not_found("not_found", "There is no such management API endpoint").error_response()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    use Method as M;
    cfg.service(
        web::scope("/api/v2")
            .service(resource(
                "/openapi.json",
                vec![(M::GET, web::get().to(openapi::get))],
            ))
            .service(resource(
                "/connections",
                vec![
                    (M::GET, patient_reads::get(connections::list)),
                    (M::POST, web::post().to(connections::create)),
                ],
            ))
            .service(resource(
                "/connections/{id}",
                vec![
                    (M::GET, patient_reads::get(connections::get)),
                    (M::PATCH, web::patch().to(connections::update)),
                    (M::DELETE, web::delete().to(connections::delete)),
                ],
            ))
            .service(resource(
                "/connections/{id}/clients",
                vec![
                    (M::GET, patient_reads::get(connection_clients::list)),
                    (M::PATCH, web::patch().to(connection_clients::update)),
                ],
            ))
            .service(resource(
                "/connections/{id}/status",
                vec![(M::GET, patient_reads::get(connections::status))],
            ))
            .service(resource(
                "/clients",
                vec![
                    (M::GET, patient_reads::get(clients::list)),
                    (M::POST, web::post().to(clients::create)),
                ],
            ))
            .service(resource(
                "/clients/{id}",
                vec![
                    (M::GET, patient_reads::get(clients::get)),
                    (M::PATCH, web::patch().to(clients::update)),
                    (M::DELETE, web::delete().to(clients::delete)),
                ],
            ))
            .service(resource(
                "/clients/{id}/rotate-secret",
                vec![(M::POST, web::post().to(clients::rotate_secret))],
            ))
            .service(resource(
                "/client-grants",
                vec![
                    (M::GET, patient_reads::get(client_grants::list)),
                    (M::POST, web::post().to(client_grants::create)),
                ],
            ))
            .service(resource(
                "/client-grants/{id}",
                vec![
                    (M::GET, patient_reads::get(client_grants::get)),
                    (M::PATCH, web::patch().to(client_grants::update)),
                    (M::DELETE, web::delete().to(client_grants::delete)),
                ],
            ))
            .service(resource(
                "/users",
                vec![(M::GET, patient_reads::get(users::list))],
            ))
            .service(resource(
                "/users-by-email",
                vec![(M::GET, patient_reads::get(users::by_email))],
            ))
            .service(resource(
                "/users/{id}",
                vec![
                    (M::GET, patient_reads::get(users::get)),
                    (M::PATCH, web::patch().to(users::update)),
                    (M::DELETE, web::delete().to(users::delete)),
                ],
            ))
            .service(resource(
                "/users/{id}/logs",
                vec![(M::GET, patient_reads::get(logs::for_user))],
            ))
            .service(resource(
                "/logs",
                vec![(M::GET, patient_reads::get(logs::list))],
            ))
            .service(resource(
                "/logs/{id}",
                vec![(M::GET, patient_reads::get(logs::get))],
            ))
            .service(resource(
                "/keys/signing",
                vec![(M::GET, patient_reads::get(keys::list))],
            ))
            .service(resource(
                "/keys/signing/rotate",
                vec![(M::POST, web::post().to(keys::rotate))],
            ))
            .service(resource(
                "/keys/signing/{kid}",
                vec![(M::GET, patient_reads::get(keys::get))],
            ))
            .service(resource(
                "/keys/signing/{kid}/revoke",
                vec![(M::PUT, web::put().to(keys::revoke))],
            ))
            .service(resource(
                "/stats/active-users",
                vec![(M::GET, patient_reads::get(stats::active_users))],
            ))
            .service(resource(
                "/stats/daily",
                vec![(M::GET, patient_reads::get(stats::daily))],
            ))
            .default_service(web::to(not_found)),
    );
}
