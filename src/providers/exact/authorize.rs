//! The authorize URL: where the browser is sent to sign in at Exact.

use super::options::ExactSettings;
use crate::providers::UpstreamConfig;

/// `/api/oauth2/auth` under the connection's base URL, every parameter encoded. Exact knows
/// neither PKCE nor a nonce: a login remembers nothing for it.
pub(super) fn url(config: &UpstreamConfig, redirect_uri: &str, state: &str) -> String {
    let settings: &ExactSettings = config.settings();
    let mut url = url::Url::parse(&settings.base_url.join("/api/oauth2/auth"))
        .expect("a validated base URL joins to a valid URL");
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", &config.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("state", state);
        if let Some(force) = &settings.force_login {
            q.append_pair("force_login", force);
        }
    }
    url.into()
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;
    use serde_json::json;

    use super::super::Exact;
    use super::url;
    use crate::providers::Strategy;

    #[test]
    fn authorize_url_encodes_every_parameter() {
        let config = Exact
            .upstream_config(
                &json!({"client_id": "id&x", "baseUrl": "https://start.exactonline.be"}),
                SecretString::from("s".to_owned()),
            )
            .unwrap();
        let url = url(&config, "https://acme.example/login/callback", "st+/=");
        assert!(url.starts_with("https://start.exactonline.be/api/oauth2/auth?client_id=id%26x&redirect_uri=https%3A%2F%2Facme.example%2Flogin%2Fcallback&response_type=code&state=st%2B%2F%3D"), "{url}");
    }
}
