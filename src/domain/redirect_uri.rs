//! `RedirectUri`: a callback or logout URL registered on an application. Requests are matched
//! against the registered strings exactly, so this only decides what may be registered.

use super::FieldError;
use url::Url;

const FORBIDDEN_SCHEMES: &[&str] = &["javascript", "data", "file", "vbscript", "about", "blob"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// An absolute URL without a fragment: http(s), or a private-use scheme for native apps
    /// (RFC 8252), never a scheme a browser would execute.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        let err = |m: &str| Err(FieldError::new(field, m));
        url_text(field, value)?;
        let Ok(url) = Url::parse(value) else {
            return err("must be an absolute URL");
        };
        if FORBIDDEN_SCHEMES.contains(&url.scheme()) {
            return err("must not use a javascript:, data:, file: or similar scheme");
        }
        if url.fragment().is_some() {
            return err("must not contain a fragment");
        }
        if matches!(url.scheme(), "http" | "https") && url.host_str().is_none_or(str::is_empty) {
            return err("must have a host");
        }
        if value.contains('*') {
            return err("must not contain wildcards");
        }
        Ok(RedirectUri(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// What any URL an application registers must be as text: 1 to 2048 characters, without
/// spaces or control characters (which browsers would encode, so the entry could never match).
pub(super) fn url_text(field: &str, value: &str) -> Result<(), FieldError> {
    if value.is_empty() || value.len() > 2048 {
        return Err(FieldError::new(field, "must be 1 to 2048 characters"));
    }
    if value.trim() != value || value.chars().any(|c| c.is_control() || c == ' ') {
        return Err(FieldError::new(
            field,
            "must not contain spaces or control characters",
        ));
    }
    Ok(())
}

/// Parses a list of URIs, naming the index of a bad one (`callbacks[2]`).
pub fn parse_list(field: &str, values: &[String]) -> Result<Vec<RedirectUri>, FieldError> {
    if values.len() > 100 {
        return Err(FieldError::new(field, "must have at most 100 entries"));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, v)| RedirectUri::parse(&format!("{field}[{i}]"), v))
        .collect()
}

impl RedirectUri {
    pub fn parse_list(field: &str, values: &[String]) -> Result<Vec<String>, FieldError> {
        Ok(parse_list(field, values)?
            .into_iter()
            .map(RedirectUri::into_string)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_and_native_callbacks_are_accepted() {
        for ok in [
            "https://app.example.com/callback",
            "http://localhost:3000/cb?x=1",
            "com.example.app:/oauth",
        ] {
            assert!(RedirectUri::parse("callbacks", ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn dangerous_or_malformed_callbacks_are_refused() {
        for bad in [
            "",
            "/relative",
            "javascript:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
            "https://a.com/#frag",
            " https://a.com",
            "https://*.a.com/cb",
            "https://a.com/\n",
        ] {
            assert!(RedirectUri::parse("callbacks", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn list_errors_name_the_index() {
        let err = parse_list("callbacks", &["https://a.com".into(), "nope".into()]).unwrap_err();
        assert_eq!(err.field, "callbacks[1]");
    }
}
