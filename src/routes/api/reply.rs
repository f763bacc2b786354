//! A management API answer as data (status, JSON body, ETag), so it can be stored and replayed
//! for `Idempotency-Key` as well as sent.

use actix_web::http::header::{ETAG, LOCATION};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, Responder};
use serde::Serialize;
use serde_json::Value;

use super::etag;
use crate::error::ApiError;

/// An answer's typed body as JSON, for what works on JSON afterwards (`fields=` selection,
/// paging, the stored copy for `Idempotency-Key`). This cannot fail, whatever the input: the
/// bodies are derived structs of strings, ids, numbers, booleans, sequences and JSON values, and
/// serde_json fails only on a map key that is not a string or a `Serialize` impl that errors
/// (non-finite floats become `null`). `json!` made the same assumption with its own unwrap.
pub fn json_body(body: &impl Serialize) -> Value {
    serde_json::to_value(body).expect("answer bodies have string keys and infallible serialization")
}

#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<Value>,
    pub etag: Option<String>,
    pub location: Option<String>,
}

impl Reply {
    pub fn ok(body: Value) -> Self {
        Reply {
            status: StatusCode::OK,
            body: Some(body),
            etag: None,
            location: None,
        }
    }

    pub fn created(body: Value) -> Self {
        Reply {
            status: StatusCode::CREATED,
            ..Reply::ok(body)
        }
    }

    pub fn no_content() -> Self {
        Reply {
            status: StatusCode::NO_CONTENT,
            body: None,
            etag: None,
            location: None,
        }
    }

    pub fn with_etag(mut self, tag: String) -> Self {
        self.etag = Some(tag);
        self
    }

    pub fn with_location(mut self, location: String) -> Self {
        self.location = Some(location);
        self
    }

    /// An error as an answer (for storing the first answer of an idempotent request).
    pub fn from_error(err: &ApiError) -> Self {
        Reply {
            status: err.status,
            body: Some(json_body(&err.body())),
            etag: None,
            location: None,
        }
    }

    pub fn into_response(self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if let Some(tag) = &self.etag {
            res.insert_header((ETAG, tag.as_str()));
        }
        if let Some(location) = &self.location {
            res.insert_header((LOCATION, location.as_str()));
        }
        match self.body {
            Some(body) => res.json(body),
            None => res.finish(),
        }
    }

    /// For reads: 304 without a body when `If-None-Match` names the current tag.
    pub fn unless_fresh(self, req: &HttpRequest) -> HttpResponse {
        match &self.etag {
            Some(tag) if etag::not_modified(req, tag) => HttpResponse::NotModified()
                .insert_header((ETAG, tag.as_str()))
                .finish(),
            _ => self.into_response(),
        }
    }
}

impl Responder for Reply {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        self.into_response()
    }
}
