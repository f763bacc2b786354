//! A management API answer as data (status, JSON body, ETag), so it can be stored and replayed
//! for `Idempotency-Key` as well as sent.

use actix_web::http::header::{ETAG, LOCATION};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, Responder};
use serde_json::{json, Value};

use super::etag;
use crate::error::ApiError;

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
            body: Some(json!({
                "statusCode": err.status.as_u16(),
                "error": err.status.canonical_reason().unwrap_or("Error"),
                "message": err.message,
                "errorCode": err.error_code,
            })),
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
