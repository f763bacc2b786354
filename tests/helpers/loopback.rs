//! The test browser: an HTTP client that reaches every `*.localhost` host on loopback, keeps
//! cookies and does not follow redirects.

use std::net::SocketAddr;
use std::sync::Arc;

/// Resolves every host name to loopback, so `acme.localhost:PORT` reaches the test server.
struct Loopback;

impl reqwest::dns::Resolve for Loopback {
    fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async {
            let addrs: reqwest::dns::Addrs =
                Box::new(vec![SocketAddr::from(([127, 0, 0, 1], 0))].into_iter());
            Ok(addrs)
        })
    }
}

/// The user agent the test browser sends, as every browser sends one.
pub const TEST_USER_AGENT: &str = "GatehouseTests/1.0 (test browser)";

/// A browser still to be finished: on loopback, keeping cookies, following no redirect.
pub fn browser_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .dns_resolver(Arc::new(Loopback))
}

pub fn browser() -> reqwest::Client {
    browser_builder()
        .user_agent(TEST_USER_AGENT)
        .build()
        .unwrap()
}
