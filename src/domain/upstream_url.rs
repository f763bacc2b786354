//! URLs a tenant admin gives for an upstream: `UpstreamUrl` (an endpoint, which may carry a
//! query) and `BaseUrl` (a prefix paths are appended to). https only; plain http is allowed
//! for loopback test servers (127.0.0.0/8, `[::1]`, `localhost` and `*.localhost`). Which
//! addresses may be connected to is decided again at connect time (`providers::address_guard`).

use super::FieldError;
use url::{Host, Url};

/// An absolute endpoint URL: https (http for loopback), no credentials, no fragment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamUrl(Url);

/// Whether `url` names a loopback host, where plain http is allowed.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        None => false,
    }
}

impl UpstreamUrl {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        let err = |m: &str| Err(FieldError::new(field, m));
        if value.len() > 2048 {
            return err("must be at most 2048 characters");
        }
        let Ok(url) = Url::parse(value.trim()) else {
            return err("must be an absolute URL such as https://login.example.com/authorize");
        };
        if url.host().is_none() {
            return err("must have a host");
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => {
                return err("must use https (http is allowed only for loopback test servers)")
            }
            _ => return err("must be an https URL (or http for a loopback test server)"),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return err("must not contain credentials");
        }
        if url.fragment().is_some() {
            return err("must not have a fragment");
        }
        Ok(UpstreamUrl(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn url(&self) -> &Url {
        &self.0
    }
}

/// An upstream's base URL: an [`UpstreamUrl`] without a query, kept without a trailing slash
/// so paths can be appended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        let url = UpstreamUrl::parse(field, value)?;
        if url.0.query().is_some() {
            return Err(FieldError::new(field, "must not have a query or fragment"));
        }
        Ok(BaseUrl(url.as_str().trim_end_matches('/').to_owned()))
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
        assert!(BaseUrl::parse("b", "http://idp.localhost:9").is_ok());
        assert!(BaseUrl::parse("b", "http://127.3.4.5:9").is_ok());
        assert!(UpstreamUrl::parse("u", "https://login.example/authorize?p=b2c").is_ok());
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
            "http://localhost.evil.example",
            "http://[::ffff:10.0.0.1]",
            &format!("https://{}.nl", "a".repeat(3000)),
        ] {
            assert!(BaseUrl::parse("b", bad).is_err(), "{bad}");
        }
    }
}
