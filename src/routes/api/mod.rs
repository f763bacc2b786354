//! The management API (`/api/v2/...`) on tenant hosts, in Auth0's shapes.

use actix_web::web;

pub fn configure(_cfg: &mut web::ServiceConfig) {}
