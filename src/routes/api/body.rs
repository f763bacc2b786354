//! JSON request bodies of the management API: `application/json` only, at most 256 KiB, parsed
//! into a `serde_json::Value` and then read property by property, so every refusal is an Auth0
//! error naming the property and the rule (serde's own messages name neither reliably).

use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use serde_json::{Map, Value};

use crate::domain::FieldError;
use crate::error::ApiError;

/// Largest body accepted; larger ones get a 413 before they are read to the end.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A parsed JSON body, and its canonical bytes (sorted keys, no whitespace) so two requests
/// that differ only in formatting count as the same for `Idempotency-Key`.
pub struct JsonBody {
    pub value: Value,
    pub canonical: Vec<u8>,
}

pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!(
            "The request body is larger than {} KiB",
            MAX_BODY_BYTES / 1024
        ),
    )
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl JsonBody {
    /// Reads the body; handlers call this after their scope check, so a caller without the
    /// scope learns nothing from body validation.
    pub async fn read(req: &HttpRequest, payload: web::Payload) -> Result<JsonBody, ApiError> {
        read(req, payload).await
    }
}

async fn read(req: &HttpRequest, mut payload: web::Payload) -> Result<JsonBody, ApiError> {
    if !is_json(req) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "The request body must be JSON, sent with Content-Type: application/json",
        ));
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| ApiError::bad_request("The request body could not be read"))?;
        if bytes.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "Payload validation error: the request body must be a JSON document",
        ));
    }
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("Invalid JSON in the request body: {e}"),
        )
    })?;
    let canonical = serde_json::to_vec(&value).map_err(ApiError::internal)?;
    Ok(JsonBody { value, canonical })
}

/// The properties of a JSON object, taken one by one with their type and length checked.
pub struct Fields {
    map: Map<String, Value>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn expected(field: &str, wanted: &str, got: &Value) -> FieldError {
    FieldError::new(field, format!("must be {wanted}, not {}", type_name(got)))
}

impl Fields {
    /// An object whose properties are all among `allowed` ("additional properties are not
    /// allowed", as Auth0 says).
    pub fn new(value: Value, allowed: &[&str]) -> Result<Self, FieldError> {
        let Value::Object(map) = value else {
            return Err(FieldError::new("body", "must be a JSON object"));
        };
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(FieldError::new(
                unknown.chars().take(64).collect::<String>(),
                format!(
                    "is not a known property (additional properties are not allowed; known: {})",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(Fields { map })
    }

    /// A string of at most `max` characters.
    pub fn string(&mut self, key: &str, max: usize) -> Result<Option<String>, FieldError> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.chars().count() > max => Err(FieldError::new(
                key,
                format!("must be at most {max} characters"),
            )),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(expected(key, "a string", &other)),
        }
    }

    /// Like [`Fields::string`], with `null` meaning "clear it" (given as an empty string).
    pub fn clearable_string(
        &mut self,
        key: &str,
        max: usize,
    ) -> Result<Option<String>, FieldError> {
        if self.map.get(key).is_some_and(Value::is_null) {
            self.map.remove(key);
            return Ok(Some(String::new()));
        }
        self.string(key, max)
    }

    pub fn boolean(&mut self, key: &str) -> Result<Option<bool>, FieldError> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(expected(key, "true or false", &other)),
        }
    }

    /// An array of at most `max_items` strings of at most `max` characters each.
    pub fn strings(
        &mut self,
        key: &str,
        max_items: usize,
        max: usize,
    ) -> Result<Option<Vec<String>>, FieldError> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(Value::Array(items)) => {
                if items.len() > max_items {
                    return Err(FieldError::new(
                        key,
                        format!("must have at most {max_items} entries"),
                    ));
                }
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| match item {
                        Value::String(s) if s.chars().count() > max => Err(FieldError::new(
                            format!("{key}[{i}]"),
                            format!("must be at most {max} characters"),
                        )),
                        Value::String(s) => Ok(s),
                        other => Err(expected(&format!("{key}[{i}]"), "a string", &other)),
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some)
            }
            Some(other) => Err(expected(key, "an array of strings", &other)),
        }
    }

    /// An object, passed on whole (its own validation names its inner properties).
    pub fn object(&mut self, key: &str) -> Result<Option<Value>, FieldError> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(v)),
            Some(other) => Err(expected(key, "an object", &other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_properties_and_wrong_types_name_the_property() {
        let err = Fields::new(json!({"nmae": "x"}), &["name"]).err().unwrap();
        assert_eq!(err.field, "nmae");
        let mut f = Fields::new(json!({"name": 3, "ok": "yes"}), &["name", "ok"]).unwrap();
        assert_eq!(
            f.string("name", 10).unwrap_err().message,
            "must be a string, not number"
        );
        assert_eq!(f.boolean("ok").unwrap_err().field, "ok");
        let mut f = Fields::new(json!({"cb": ["a", 1]}), &["cb"]).unwrap();
        assert_eq!(f.strings("cb", 5, 10).unwrap_err().field, "cb[1]");
        let mut f = Fields::new(json!({"name": "x".repeat(11)}), &["name"]).unwrap();
        assert!(f
            .string("name", 10)
            .unwrap_err()
            .message
            .contains("at most 10"));
        assert!(Fields::new(json!([1]), &[]).is_err());
    }
}
