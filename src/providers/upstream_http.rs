//! The one HTTP client for upstream calls: no redirects followed, connect and total timeouts,
//! and a cap on how much of an answer is read. Also the redaction of upstream answers before
//! they are stored in a login trace.

use std::time::Duration;

use super::address_guard::{self, AddressPolicy, Forbidden};
use super::{LoginStep, UpstreamError, UpstreamFailure};

/// Upstream answers larger than this are refused unread: a profile or token answer is a few KiB.
pub const MAX_ANSWER_BYTES: usize = 256 * 1024;
/// How much of a failed answer a login trace keeps.
pub const TRACE_ANSWER_CHARS: usize = 2048;

/// The upstream client: reqwest with redirects off, timeouts, and the [`AddressPolicy`]
/// applied to every address it connects to.
#[derive(Clone)]
pub struct UpstreamClient {
    http: reqwest::Client,
    policy: AddressPolicy,
}

pub fn client(
    connect_timeout: Duration,
    timeout: Duration,
    policy: AddressPolicy,
) -> UpstreamClient {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // A proxy from the environment would resolve the target itself, past the guard.
        .no_proxy()
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .dns_resolver(address_guard::resolver(policy))
        .user_agent(concat!("Gatehouse/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the upstream HTTP client configuration is valid");
    UpstreamClient { http, policy }
}

/// A complete upstream answer, read within the size cap.
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl UpstreamClient {
    pub fn get(&self, url: &str) -> reqwest::RequestBuilder {
        self.http.get(url)
    }

    pub fn post(&self, url: &str) -> reqwest::RequestBuilder {
        self.http.post(url)
    }

    /// Sends `request` and reads the answer, failing at `step` on a forbidden address, timeout,
    /// connection failure or an answer over [`MAX_ANSWER_BYTES`].
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
        step: LoginStep,
    ) -> Result<Answer, UpstreamError> {
        let (_, request) = request.build_split();
        let request = request.map_err(|e| transport_error(step, &e))?;
        self.execute(request, step).await
    }

    /// [`UpstreamClient::send`] for a request already built (by oauth2, say).
    pub async fn execute(
        &self,
        request: reqwest::Request,
        step: LoginStep,
    ) -> Result<Answer, UpstreamError> {
        if let Err(forbidden) = address_guard::check_literal(&self.policy, request.url()) {
            return Err(forbidden_error(step, &forbidden));
        }
        let mut response = self
            .http
            .execute(request)
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
}

/// A 2xx answer that is JSON, kept with its redacted text so later checks of its content can
/// fail with it.
pub struct JsonAnswer {
    pub json: serde_json::Value,
    step: LoginStep,
    status: u16,
    redacted: String,
}

impl JsonAnswer {
    /// The content was not what the login needs: a bad answer, with the answer for the trace.
    pub fn fail(&self, description: impl Into<String>) -> UpstreamError {
        UpstreamError {
            step: self.step,
            failure: UpstreamFailure::BadAnswer,
            status: Some(self.status),
            answer: Some(self.redacted.clone()),
            description: description.into(),
        }
    }
}

impl UpstreamClient {
    /// Sends `request` and reads a 2xx JSON answer; otherwise fails at `step` with "the
    /// provider answered {what} with HTTP 4xx" (refused) or a bad answer, the answer redacted
    /// of `secrets`.
    pub async fn fetch_json(
        &self,
        request: reqwest::RequestBuilder,
        step: LoginStep,
        what: &str,
        secrets: &[&str],
    ) -> Result<JsonAnswer, UpstreamError> {
        let answer = self.send(request, step).await?;
        let redacted = redact(&answer.body, secrets);
        let fail = |failure, description: String| UpstreamError {
            step,
            failure,
            status: Some(answer.status),
            answer: Some(redacted.clone()),
            description,
        };
        if !(200..300).contains(&answer.status) {
            let failure = match answer.status {
                400..=499 => UpstreamFailure::Refused,
                _ => UpstreamFailure::BadAnswer,
            };
            return Err(fail(
                failure,
                format!("the provider answered {what} with HTTP {}", answer.status),
            ));
        }
        let json = serde_json::from_slice(&answer.body).map_err(|_| {
            fail(
                UpstreamFailure::BadAnswer,
                format!("the provider's answer to {what} is not JSON"),
            )
        })?;
        Ok(JsonAnswer {
            json,
            step,
            status: answer.status,
            redacted,
        })
    }
}

fn forbidden_error(step: LoginStep, forbidden: &Forbidden) -> UpstreamError {
    UpstreamError {
        step,
        failure: UpstreamFailure::Forbidden,
        status: None,
        answer: None,
        description: format!("the upstream URL is not allowed: {forbidden}"),
    }
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
    // The resolver's refusal comes back as a connect error with the reason as its source.
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(forbidden) = cause.downcast_ref::<Forbidden>() {
            return forbidden_error(step, forbidden);
        }
        source = cause.source();
    }
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

/// Text an upstream chose (an `error_description`, an issuer it names) made safe for a trace,
/// a log line and the dashboard: known secrets removed, control characters dropped, at most
/// 256 characters.
pub fn upstream_text(text: &str, known_secrets: &[&str]) -> String {
    let mut clean: String = text.chars().filter(|c| !c.is_control()).collect();
    for secret in known_secrets.iter().filter(|s| s.len() >= 4) {
        clean = clean.replace(secret, "[redacted]");
    }
    match clean.chars().count() > 256 {
        true => clean.chars().take(256).collect::<String>() + "…",
        false => clean,
    }
}

/// Makes an upstream answer safe to store: secret-looking JSON values masked, every known
/// secret string replaced, and the text truncated.
pub fn redact(body: &[u8], known_secrets: &[&str]) -> String {
    let mut text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut json) => {
            mask_secret_keys(&mut json);
            json.to_string()
        }
        Err(_) => mask_secret_fields_in_text(&String::from_utf8_lossy(body)),
    };
    for secret in known_secrets.iter().filter(|s| s.len() >= 4) {
        text = text.replace(secret, "[redacted]");
        // Re-serialised JSON escapes `"`, `\` and control characters: the secret is there too.
        let quoted = serde_json::Value::from(*secret).to_string();
        let escaped = &quoted[1..quoted.len() - 1];
        if escaped != *secret {
            text = text.replace(escaped, "[redacted]");
        }
    }
    if text.chars().count() > TRACE_ANSWER_CHARS {
        text = text.chars().take(TRACE_ANSWER_CHARS).collect::<String>() + "…";
    }
    text
}

/// For answers that are almost JSON (cut short, or with bytes after the document): the string
/// after `"access_token":` and the like is masked all the same, up to its closing quote.
fn mask_secret_fields_in_text(text: &str) -> String {
    // ASCII lowercasing keeps every byte offset, so offsets found in `lower` fit `text`.
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let skip_space = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let mut values = Vec::new();
    for key in SECRET_KEYS {
        let quoted = format!("\"{key}\"");
        for (at, _) in lower.match_indices(&quoted) {
            let colon = skip_space(at + quoted.len());
            if bytes.get(colon) != Some(&b':') {
                continue;
            }
            let open = skip_space(colon + 1);
            if bytes.get(open) != Some(&b'"') {
                continue;
            }
            let mut end = open + 1;
            while end < bytes.len() && bytes[end] != b'"' {
                end += if bytes[end] == b'\\' { 2 } else { 1 };
            }
            values.push((open + 1, end.min(bytes.len())));
        }
    }
    values.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (start, end) in values {
        if start < copied {
            continue;
        }
        out.push_str(&text[copied..start]);
        out.push_str("[redacted]");
        copied = end;
    }
    out.push_str(&text[copied..]);
    out
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

    #[test]
    fn tokens_in_an_answer_that_is_almost_json_are_masked_too() {
        let cut =
            br#"{"access_token": "AAEAA!x*+/=", "token_type":"bearer","Refresh_Token":"__1P\"!I"#;
        let out = redact(cut, &[]);
        assert!(!out.contains("AAEAA") && !out.contains("__1P"), "{out}");
        assert!(out.contains("token_type"), "{out}");
        let trailing = br#"{"code":"c0de-123"} and more"#;
        assert_eq!(redact(trailing, &[]), r#"{"code":"[redacted]"} and more"#);
    }

    #[test]
    fn upstream_text_is_cleaned_of_secrets_and_control_characters_and_cut() {
        let text = upstream_text("bad secret s3cr3t\nFORGED log line", &["s3cr3t"]);
        assert_eq!(text, "bad secret [redacted]FORGED log line");
        assert!(upstream_text(&"x".repeat(1000), &[]).chars().count() <= 257);
    }

    #[test]
    fn a_secret_is_redacted_in_its_json_escaped_form_as_well() {
        let body = br#"{"error_description":"client_secret ab\"cd\\ef is wrong"}"#;
        let out = redact(body, &["ab\"cd\\ef"]);
        assert!(!out.contains("ab\\\"cd"), "{out}");
        assert!(out.contains("[redacted] is wrong"), "{out}");
    }
}
