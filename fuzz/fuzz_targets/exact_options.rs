//! `Exact.parse_options` on any JSON: an answer; accepted options never show the client secret,
//! validate again unchanged, and make a usable upstream configuration.
#![no_main]

use gatehouse::providers::exact::Exact;
use gatehouse::providers::Strategy as _;
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use serde_json::Value;

/// A client secret no generated input contains by chance.
const MARKER: &str = "gatehouse-fuzz-secret-marker-7f3a";

fn has_key(value: &Value, key: &str) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(k, v)| k == key || has_key(v, key)),
        Value::Array(items) => items.iter().any(|v| has_key(v, key)),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flag, json)) = data.split_first() else {
        return;
    };
    let Ok(options) = serde_json::from_slice::<Value>(json) else {
        return;
    };
    let Ok(parsed) = Exact.parse_options(&options, flag & 1 == 1) else {
        return;
    };
    assert!(!has_key(&parsed.public, "client_secret"));
    if parsed.client_secret.is_some() {
        // The public part does not depend on the secret: with a marker in its place it is the
        // same, and holds no marker. (Looking for the secret itself in the public part would
        // flag a secret that happens to be part of a default, such as "/start.exactonl".)
        let mut marked = options.clone();
        marked
            .as_object_mut()
            .expect("options are an object")
            .insert("client_secret".into(), Value::String(MARKER.into()));
        if !json.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()) {
            if let Ok(with_marker) = Exact.parse_options(&marked, flag & 1 == 1) {
                assert!(!with_marker.public.to_string().contains(MARKER));
                assert_eq!(with_marker.public, parsed.public);
            }
        }
    }
    let again = Exact
        .parse_options(&parsed.public, true)
        .expect("stored options validate again");
    assert_eq!(again.public, parsed.public);
    let config = Exact
        .upstream_config(&parsed.public, SecretString::from("s".to_owned()))
        .expect("stored options make an upstream configuration");
    // The authorize step of a stored configuration makes a URL.
    let http = gatehouse::providers::upstream_http::client(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(1),
        Default::default(),
    );
    let upstream = gatehouse::providers::Upstream {
        http: &http,
        config: &config,
        redirect_uri: "https://acme.example/login/callback",
        connection: "exact",
    };
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let authorization = runtime
        .block_on(Exact.authorize(upstream, "state"))
        .expect("Exact's authorize step needs no upstream call");
    assert!(url::Url::parse(&authorization.url).is_ok());
});
