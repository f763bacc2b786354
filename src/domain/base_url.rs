//! `BaseUrl`: where a connection's upstream lives, https only (http for loopback test servers).

use super::FieldError;
use url::{Host, Url};

pub const DEFAULT_EXACT_BASE_URL: &str = "https://start.exactonline.nl";

/// The Exact Online sites a tenant can pick from (its app is registered at one of them).
pub const EXACT_SITES: &[(&str, &str)] = &[
    ("Netherlands", "https://start.exactonline.nl"),
    ("Belgium", "https://start.exactonline.be"),
    ("Germany", "https://start.exactonline.de"),
    ("United Kingdom", "https://start.exactonline.co.uk"),
    ("United States", "https://start.exactonline.com"),
    ("Spain", "https://start.exactonline.es"),
    ("France", "https://start.exactonline.fr"),
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    /// An absolute `https` URL (or `http` to a loopback address) with no credentials, query or
    /// fragment; kept without a trailing slash so paths can be appended.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        let err = |m: &str| Err(FieldError::new(field, m));
        if value.len() > 2048 {
            return err("must be at most 2048 characters");
        }
        let Ok(url) = Url::parse(value.trim()) else {
            return err("must be an absolute URL such as https://start.exactonline.nl");
        };
        let loopback = match url.host() {
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            Some(Host::Domain(d)) => d == "localhost",
            None => return err("must have a host"),
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return err("must use https (http is allowed only for loopback test servers)")
            }
            _ => return err("must be an https URL (or http for a loopback test server)"),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return err("must not contain credentials");
        }
        if url.query().is_some() || url.fragment().is_some() {
            return err("must not have a query or fragment");
        }
        Ok(BaseUrl(url.as_str().trim_end_matches('/').to_owned()))
    }

    pub fn default_exact() -> Self {
        BaseUrl(DEFAULT_EXACT_BASE_URL.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `{base}{path}`, with `path` starting with `/`.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_https_and_loopback_http() {
        assert_eq!(
            BaseUrl::parse("b", "https://start.exactonline.be/")
                .unwrap()
                .as_str(),
            "https://start.exactonline.be"
        );
        assert_eq!(
            BaseUrl::parse("b", "http://127.0.0.1:9999")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9999"
        );
        assert!(BaseUrl::parse("b", "http://[::1]:9999").is_ok());
        assert!(BaseUrl::parse("b", "http://localhost:9").is_ok());
        assert_eq!(
            BaseUrl::parse("b", "https://h/x").unwrap().join("/api"),
            "https://h/x/api"
        );
    }

    #[test]
    fn refuses_unsafe_or_odd_urls() {
        for bad in [
            "",
            "start.exactonline.nl",
            "http://start.exactonline.nl",
            "http://10.0.0.1",
            "ftp://start.exactonline.nl",
            "javascript:alert(1)",
            "https://user:pw@start.exactonline.nl",
            "https://start.exactonline.nl/?x=1",
            "https://start.exactonline.nl/#f",
            &format!("https://{}.nl", "a".repeat(3000)),
        ] {
            assert!(BaseUrl::parse("b", bad).is_err(), "{bad}");
        }
    }
}
