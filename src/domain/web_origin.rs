//! `WebOrigin`: an origin (scheme, host and port) a browser application runs on, from which it
//! may call the token, userinfo and revocation endpoints across origins (Auth0's "Allowed Web
//! Origins"). Kept in the form browsers send in `Origin`, so matching is a string comparison.

use super::FieldError;
use url::Url;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebOrigin(String);

impl WebOrigin {
    /// An http(s) origin: `https://app.example.com` or `http://localhost:3000`. A trailing `/` is
    /// accepted and dropped; a path, query, fragment, user name or wildcard is refused, since
    /// browsers never send one in `Origin` and such an entry could never match.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        let err = |m: &str| Err(FieldError::new(field, m));
        super::redirect_uri::url_text(field, value)?;
        if value.contains('*') {
            return err("must not contain wildcards");
        }
        let Ok(url) = Url::parse(value) else {
            return err("must be an origin such as https://app.example.com");
        };
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return err("must be an http or https origin such as https://app.example.com");
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return err("must be an origin (scheme, host and port), without a path or query");
        }
        if !url.username().is_empty() || url.password().is_some() {
            return err("must not contain a user name or password");
        }
        Ok(WebOrigin(url.origin().ascii_serialization()))
    }

    /// The origin of a stored entry, leniently: entries registered before origins were checked
    /// may carry a path, which never took part in matching.
    pub fn of_registered(value: &str) -> Option<String> {
        let url = Url::parse(value).ok()?;
        matches!(url.scheme(), "http" | "https").then(|| url.origin().ascii_serialization())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// Parses a list, naming the index of a bad entry (`web_origins[2]`); duplicates (after
    /// normalising) are kept once.
    pub fn parse_list(field: &str, values: &[String]) -> Result<Vec<String>, FieldError> {
        if values.len() > 100 {
            return Err(FieldError::new(field, "must have at most 100 entries"));
        }
        let mut out: Vec<String> = Vec::with_capacity(values.len());
        for (i, v) in values.iter().enumerate() {
            let origin = WebOrigin::parse(&format!("{field}[{i}]"), v)?.into_string();
            if !out.contains(&origin) {
                out.push(origin);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_kept_as_browsers_send_them() {
        for (given, kept) in [
            ("https://app.example.com", "https://app.example.com"),
            ("https://App.Example.com/", "https://app.example.com"),
            ("https://app.example.com:443", "https://app.example.com"),
            ("http://localhost:3000", "http://localhost:3000"),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ] {
            assert_eq!(
                WebOrigin::parse("web_origins", given).unwrap().as_str(),
                kept
            );
        }
    }

    #[test]
    fn what_is_not_an_origin_is_refused() {
        for bad in [
            "",
            "app.example.com",
            "https://app.example.com/callback",
            "https://app.example.com/?x=1",
            "https://app.example.com/#top",
            "https://*.example.com",
            "https://user:pw@app.example.com",
            "javascript:alert(1)",
            "com.example.app:/oauth",
            "file:///etc",
            " https://app.example.com",
        ] {
            assert!(WebOrigin::parse("web_origins", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lists_name_the_bad_entry_and_drop_duplicates() {
        let err = WebOrigin::parse_list(
            "web_origins",
            &["https://a.com".into(), "https://a.com/x".into()],
        )
        .unwrap_err();
        assert_eq!(err.field, "web_origins[1]");
        let kept = WebOrigin::parse_list(
            "web_origins",
            &["https://a.com".into(), "https://A.com/".into()],
        )
        .unwrap();
        assert_eq!(kept, vec!["https://a.com".to_owned()]);
    }

    #[test]
    fn registered_entries_with_a_path_still_have_an_origin() {
        assert_eq!(
            WebOrigin::of_registered("https://app.example.com/spa").as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(WebOrigin::of_registered("com.example.app:/oauth"), None);
    }
}
