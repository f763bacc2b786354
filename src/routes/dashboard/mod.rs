//! The admin dashboard on the admin host.

use actix_web::web;

pub fn configure(_cfg: &mut web::ServiceConfig) {}
