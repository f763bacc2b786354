//! ETags of single objects and the preconditions built on them: `If-Match` on changes (a stale
//! tag is a 412, so a concurrent update is never silently overwritten) and `If-None-Match` on
//! reads (304). Tags are opaque: a hash of the object's kind, id and version.

use actix_web::http::header::{IF_MATCH, IF_NONE_MATCH};
use actix_web::HttpRequest;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// The strong ETag (quoted) of version `version` of object `id` of `kind`.
pub fn tag(kind: &str, id: &str, version: impl std::fmt::Display) -> String {
    let digest = Sha256::digest(format!("{kind}\n{id}\n{version}").as_bytes());
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// The entity tags listed in a header (`*`, `"a"`, `W/"b"`, comma separated).
fn listed(req: &HttpRequest, name: actix_web::http::header::HeaderName) -> Option<Vec<String>> {
    let values: Vec<String> = req
        .headers()
        .get_all(name)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    (!values.is_empty()).then_some(values)
}

/// Checks `If-Match` against the object's current tag: `Ok(true)` when it matched, `Ok(false)`
/// when the header is absent, 412 otherwise. Weak tags never match (RFC 9110 §13.1.1).
pub fn if_match(req: &HttpRequest, current: &str) -> Result<bool, ApiError> {
    match listed(req, IF_MATCH) {
        None => Ok(false),
        Some(tags) if tags.iter().any(|t| t == "*" || t == current) => Ok(true),
        Some(_) => Err(ApiError::precondition_failed()),
    }
}

/// True when `If-None-Match` names the current tag (or `*`): the caller's copy is fresh.
pub fn not_modified(req: &HttpRequest, current: &str) -> bool {
    listed(req, IF_NONE_MATCH).is_some_and(|tags| {
        tags.iter()
            .any(|t| t == "*" || t.trim_start_matches("W/") == current)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn tags_differ_by_object_and_version() {
        assert_ne!(tag("connection", "con_a", 1), tag("connection", "con_a", 2));
        assert_ne!(tag("connection", "con_a", 1), tag("connection", "con_b", 1));
        assert_ne!(tag("connection", "x", 1), tag("client", "x", 1));
    }

    #[test]
    fn if_match_accepts_the_current_tag_or_star_only() {
        let current = tag("client", "c", 3);
        let req = |v: &str| {
            TestRequest::default()
                .insert_header((IF_MATCH, v))
                .to_http_request()
        };
        assert!(if_match(&req(&current), &current).unwrap());
        assert!(if_match(&req("*"), &current).unwrap());
        assert!(if_match(&req(&format!("W/{current}")), &current).is_err());
        assert!(if_match(&req(&tag("client", "c", 2)), &current).is_err());
        assert!(!if_match(&TestRequest::default().to_http_request(), &current).unwrap());
    }
}
