//! `BaseUrl::parse` on any text: an answer, and what it accepts is https (or http to loopback),
//! parses back to itself and joins to Exact's endpoints on the same origin.
#![no_main]

use gatehouse::domain::BaseUrl;
use libfuzzer_sys::fuzz_target;

fn loopback(url: &url::Url) -> bool {
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

fuzz_target!(|value: &str| {
    let Ok(base) = BaseUrl::parse("baseUrl", value) else {
        return;
    };
    let url = url::Url::parse(base.as_str()).expect("an accepted base URL is a URL");
    assert!(
        url.scheme() == "https" || (url.scheme() == "http" && loopback(&url)),
        "{value:?}"
    );
    assert!(url.username().is_empty() && url.password().is_none());
    assert!(url.query().is_none() && url.fragment().is_none());
    assert_eq!(BaseUrl::parse("baseUrl", base.as_str()).as_ref(), Ok(&base));
    for path in [
        "/api/oauth2/auth",
        "/api/oauth2/token",
        "/api/v1/current/Me",
    ] {
        let joined = url::Url::parse(&base.join(path)).expect("endpoints join");
        assert_eq!(joined.origin(), url.origin());
    }
});
