//! `GET /api/v2/openapi.json`: the OpenAPI 3.0 description of this API, written by hand next
//! to the handlers it describes and served without authentication (it holds no tenant data).
//! Connection options are each strategy's own schema, filled in from the strategies when the
//! document is first served.

use std::sync::OnceLock;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::HttpResponse;
use serde_json::{json, Value};

use crate::providers::STRATEGIES;
use crate::tenancy::TenantHost;

/// The hand-written part.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// The served document: [`DOCUMENT`] with every strategy's options.
pub fn document() -> &'static str {
    static SERVED: OnceLock<String> = OnceLock::new();
    SERVED.get_or_init(|| {
        let mut doc: Value = serde_json::from_str(DOCUMENT).expect("openapi.json is JSON");
        let create: Vec<Value> = STRATEGIES.iter().map(|s| s.options_schema()).collect();
        // On update the client secret may be left out: the stored one is kept.
        let update: Vec<Value> = create
            .iter()
            .cloned()
            .map(|mut schema| {
                if let Some(Value::Array(required)) = schema.get_mut("required") {
                    required.retain(|r| r != "client_secret");
                }
                schema
            })
            .collect();
        let schemas = &mut doc["components"]["schemas"];
        schemas["ConnectionOptions"] = json!({ "anyOf": create });
        schemas["ConnectionOptionsUpdate"] = json!({ "anyOf": update });
        let names: Vec<&str> = STRATEGIES.iter().map(|s| s.name()).collect();
        schemas["ConnectionCreate"]["properties"]["strategy"] =
            json!({"type": "string", "enum": names});
        doc.to_string()
    })
}

/// Served on tenant hosts only (the extractor answers 404 for unknown hosts).
pub async fn get(_: TenantHost) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json"))
        .insert_header((CACHE_CONTROL, "public, max-age=300"))
        .body(document())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_is_json_of_openapi_3() {
        let doc: serde_json::Value = serde_json::from_str(super::document()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.0"));
        assert!(doc["paths"]["/connections"].is_object());
        let options = &doc["components"]["schemas"]["ConnectionOptions"]["anyOf"];
        assert_eq!(
            options.as_array().unwrap().len(),
            crate::providers::STRATEGIES.len()
        );
        assert_eq!(
            doc["components"]["schemas"]["ConnectionCreate"]["properties"]["strategy"]["enum"],
            serde_json::json!(["exact", "oidc", "oauth2"])
        );
    }
}
