//! The one HTTP client for upstream calls: no redirects followed, connect and total timeouts,
//! and a cap on how much of an answer is read. Also the redaction of upstream answers before
//! they are stored in a login trace.

use std::time::Duration;

use super::{LoginStep, UpstreamError, UpstreamFailure};

/// Upstream answers larger than this are refused unread: a profile or token answer is a few KiB.
pub const MAX_ANSWER_BYTES: usize = 256 * 1024;
/// How much of a failed answer a login trace keeps.
pub const TRACE_ANSWER_CHARS: usize = 2048;

pub fn client(connect_timeout: Duration, timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .user_agent(concat!("Gatehouse/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the upstream HTTP client configuration is valid")
}

/// A complete upstream answer, read within the size cap.
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

/// Sends `request` and reads the answer, failing at `step` on timeout, connection failure or
/// an answer over [`MAX_ANSWER_BYTES`].
pub async fn send(
    request: reqwest::RequestBuilder,
    step: LoginStep,
) -> Result<Answer, UpstreamError> {
    let mut response = request
        .send()
        .await
        .map_err(|e| transport_error(step, &e))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if response
        .content_length()
        .is_some_and(|n| n as usize > MAX_ANSWER_BYTES)
    {
        return Err(too_big(step, status));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(step, &e))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(too_big(step, status));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        content_type,
        headers,
        body,
    })
}

fn too_big(step: LoginStep, status: u16) -> UpstreamError {
    UpstreamError {
        step,
        failure: UpstreamFailure::BadAnswer,
        status: Some(status),
        answer: None,
        description: format!("the upstream answer exceeded {MAX_ANSWER_BYTES} bytes"),
    }
}

pub fn transport_error(step: LoginStep, err: &reqwest::Error) -> UpstreamError {
    let (failure, description) = if err.is_timeout() {
        (
            UpstreamFailure::Timeout,
            "the upstream did not answer in time".to_owned(),
        )
    } else if err.is_connect() {
        (
            UpstreamFailure::Unreachable,
            "could not connect to the upstream".to_owned(),
        )
    } else {
        (
            UpstreamFailure::BadAnswer,
            "the upstream connection failed".to_owned(),
        )
    };
    UpstreamError {
        step,
        failure,
        status: None,
        answer: None,
        description,
    }
}

/// Keys whose values are secrets wherever they appear in an upstream JSON answer.
const SECRET_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "code",
    "password",
];

/// Makes an upstream answer safe to store: secret-looking JSON values masked, every known
/// secret string replaced, and the text truncated.
pub fn redact(body: &[u8], known_secrets: &[&str]) -> String {
    let mut text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut json) => {
            mask_secret_keys(&mut json);
            json.to_string()
        }
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    for secret in known_secrets.iter().filter(|s| s.len() >= 4) {
        text = text.replace(secret, "[redacted]");
    }
    if text.chars().count() > TRACE_ANSWER_CHARS {
        text = text.chars().take(TRACE_ANSWER_CHARS).collect::<String>() + "…";
    }
    text
}

fn mask_secret_keys(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if SECRET_KEYS.contains(&key.to_ascii_lowercase().as_str()) {
                    *v = serde_json::Value::String("[redacted]".into());
                } else {
                    mask_secret_keys(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(mask_secret_keys),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_masks_tokens_and_known_secrets_and_truncates() {
        let body = br#"{"access_token":"AAA!x","nested":{"refresh_token":"r"},"error_description":"bad secret s3cr3t"}"#;
        let out = redact(body, &["s3cr3t"]);
        assert!(!out.contains("AAA!x") && !out.contains("\"r\"") && !out.contains("s3cr3t"));
        assert!(out.contains("error_description"));
        let long = "x".repeat(10_000);
        assert!(redact(long.as_bytes(), &[]).chars().count() <= TRACE_ANSWER_CHARS + 1);
        assert_eq!(redact(b"Bad Request", &[]), "Bad Request");
    }
}
