//! `GET /api/v2/openapi.json`: the OpenAPI 3.0 description of this API, written by hand next
//! to the handlers it describes and served without authentication (it holds no tenant data).

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::HttpResponse;

use crate::tenancy::TenantHost;

pub const DOCUMENT: &str = include_str!("openapi.json");

/// Served on tenant hosts only (the extractor answers 404 for unknown hosts).
pub async fn get(_: TenantHost) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json"))
        .insert_header((CACHE_CONTROL, "public, max-age=300"))
        .body(DOCUMENT)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_is_json_of_openapi_3() {
        let doc: serde_json::Value = serde_json::from_str(super::DOCUMENT).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.0"));
        assert!(doc["paths"]["/connections"].is_object());
    }
}
