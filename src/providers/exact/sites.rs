//! Exact Online's country sites: where a tenant's app can be registered, and the default.

/// The site used when a connection names none.
pub const DEFAULT_BASE_URL: &str = "https://start.exactonline.nl";

/// The Exact Online sites a tenant can pick from (its app is registered at one of them).
pub const SITES: &[(&str, &str)] = &[
    ("Netherlands", "https://start.exactonline.nl"),
    ("Belgium", "https://start.exactonline.be"),
    ("Germany", "https://start.exactonline.de"),
    ("United Kingdom", "https://start.exactonline.co.uk"),
    ("United States", "https://start.exactonline.com"),
    ("Spain", "https://start.exactonline.es"),
    ("France", "https://start.exactonline.fr"),
];

/// "Exact Online Belgium" for a known site, else the URL itself (a test server).
pub fn label(base_url: &str) -> String {
    SITES
        .iter()
        .find(|(_, url)| *url == base_url)
        .map(|(name, _)| format!("Exact Online {name}"))
        .unwrap_or_else(|| base_url.to_owned())
}
