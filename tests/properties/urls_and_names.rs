//! Redirect URIs, base URLs, tenant slugs, connection names and domains: what parses keeps the
//! promises the rest of Gatehouse builds on.

use gatehouse::domain::{BaseUrl, ConnectionName, HostName, RedirectUri, TenantSlug};
use proptest::prelude::*;

use crate::support::{config, url_like};

fn check_redirect_uri(value: &str) -> Result<(), TestCaseError> {
    let Ok(uri) = RedirectUri::parse("callbacks", value) else {
        return Ok(());
    };
    prop_assert_eq!(uri.as_str(), value, "kept exactly as given");
    let url = url::Url::parse(value).map_err(|e| TestCaseError::fail(format!("{value}: {e}")))?;
    prop_assert!(url.fragment().is_none(), "{value} has a fragment");
    prop_assert!(
        !["javascript", "data", "file", "vbscript", "about", "blob"].contains(&url.scheme()),
        "{value} has scheme {}",
        url.scheme()
    );
    let lower = value.to_ascii_lowercase();
    for bad in ["javascript:", "data:", "file:"] {
        prop_assert!(!lower.starts_with(bad), "{value}");
    }
    prop_assert!(!value.contains('*') && !value.contains('#'), "{value}");
    prop_assert!(
        value.trim() == value && !value.chars().any(|c| c == ' ' || c.is_control()),
        "{value:?}"
    );
    prop_assert!(!value.is_empty() && value.len() <= 2048);
    if matches!(url.scheme(), "http" | "https") {
        prop_assert!(url.host_str().is_some_and(|h| !h.is_empty()), "{value}");
    }
    Ok(())
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        // RFC 6761: localhost and every name under it, with or without the root's dot.
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.');
            d == "localhost" || d.ends_with(".localhost")
        }
        None => false,
    }
}

fn check_base_url(value: &str) -> Result<(), TestCaseError> {
    let Ok(base) = BaseUrl::parse("baseUrl", value) else {
        return Ok(());
    };
    let url = url::Url::parse(base.as_str())
        .map_err(|e| TestCaseError::fail(format!("{value} -> {}: {e}", base.as_str())))?;
    prop_assert!(
        url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url)),
        "{value} -> {}",
        base.as_str()
    );
    prop_assert!(
        url.username().is_empty() && url.password().is_none(),
        "{value}"
    );
    prop_assert!(url.query().is_none() && url.fragment().is_none(), "{value}");
    prop_assert!(!base.as_str().ends_with('/'), "{}", base.as_str());
    // Stored, then read again: the same value.
    let again = BaseUrl::parse("baseUrl", base.as_str());
    prop_assert_eq!(
        again.as_ref(),
        Ok(&base),
        "{} does not parse back to itself",
        base.as_str()
    );
    // Every endpoint joins to a URL on the same origin.
    for path in [
        "/api/oauth2/auth",
        "/api/oauth2/token",
        "/api/v1/current/Me",
    ] {
        let joined = url::Url::parse(&base.join(path))
            .map_err(|e| TestCaseError::fail(format!("{}{path}: {e}", base.as_str())))?;
        prop_assert_eq!(joined.origin(), url.origin());
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn a_redirect_uri_that_parses_is_an_absolute_url_without_fragment_or_executable_scheme(
        value in prop_oneof![url_like(), any::<String>()]
    ) {
        check_redirect_uri(&value)?;
    }

    #[test]
    fn a_base_url_that_parses_is_https_or_loopback_http_and_joins_to_its_endpoints(
        value in prop_oneof![url_like(), any::<String>()]
    ) {
        check_base_url(&value)?;
    }
}

fn dns_label_chars(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn slugs_connection_names_and_domains_that_parse_follow_their_patterns(
        value in prop_oneof![any::<String>(), "[a-zA-Z0-9.:-]{0,70}", "[a-z0-9-]{1,8}(\\.[a-z0-9-]{1,8}){0,3}(:[0-9]{1,6})?"]
    ) {
        if let Ok(slug) = TenantSlug::parse(&value) {
            let s = slug.as_str();
            prop_assert!((3..=63).contains(&s.len()), "{s:?}");
            prop_assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            prop_assert!(!s.starts_with('-') && !s.ends_with('-') && !s.contains("--"), "{s:?}");
        }
        if let Ok(name) = ConnectionName::parse(&value) {
            let s = name.as_str();
            prop_assert!((1..=128).contains(&s.len()) && dns_label_chars(s), "{s:?}");
            prop_assert!(!s.starts_with('-') && !s.ends_with('-') && !s.contains("--"), "{s:?}");
        }
        if let Ok(host) = HostName::parse("domain", &value) {
            let s = host.as_str();
            let name = s.rsplit_once(':').map_or(s, |(h, _)| h);
            prop_assert!(name.contains('.') && name.len() <= 253, "{s:?}");
            prop_assert!(name.split('.').all(|l| !l.is_empty() && l.len() <= 63 && dns_label_chars(l)));
            prop_assert_eq!(s, s.to_ascii_lowercase());
        }
    }
}
