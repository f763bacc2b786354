//! The stylesheet, the few scripts and the icon, compiled into the binary: nothing is loaded
//! from elsewhere, and the dashboard works offline.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

const CSS: &str = include_str!("../../static/gatehouse.css");
const FORM_POST_JS: &str = include_str!("../../static/form_post.js");
const DASHBOARD_JS: &str = include_str!("../../static/dashboard.js");
const WEB_MESSAGE_JS: &str = include_str!("../../static/web_message.js");
const ICON_SVG: &str = include_str!("../../static/favicon.svg");

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/static/gatehouse.css",
        web::get().to(|| async { asset("text/css; charset=utf-8", CSS) }),
    )
    .route(
        "/static/form_post.js",
        web::get().to(|| async { asset("text/javascript; charset=utf-8", FORM_POST_JS) }),
    )
    .route(
        "/static/web_message.js",
        web::get().to(|| async { asset("text/javascript; charset=utf-8", WEB_MESSAGE_JS) }),
    )
    .route(
        "/static/dashboard.js",
        web::get().to(|| async { asset("text/javascript; charset=utf-8", DASHBOARD_JS) }),
    )
    .route(
        "/static/favicon.svg",
        web::get().to(|| async { asset("image/svg+xml", ICON_SVG) }),
    )
    // Browsers ask for /favicon.ico whatever a page links; the same icon answers (an SVG is
    // what they render from it), so no page's request ends in a 404.
    .route(
        "/favicon.ico",
        web::get().to(|| async { asset("image/svg+xml", ICON_SVG) }),
    );
}
