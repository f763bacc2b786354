//! `Exact.parse_options` on any JSON: an answer; accepted options never show the client secret,
//! validate again unchanged, and make a usable upstream configuration.
#![no_main]

use gatehouse::providers::exact::Exact;
use gatehouse::providers::Provider;
use libfuzzer_sys::fuzz_target;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

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
    if let Some(secret) = &parsed.client_secret {
        let secret = secret.expose_secret();
        let mut others = options.clone();
        others
            .as_object_mut()
            .expect("options are an object")
            .remove("client_secret");
        if secret.len() >= 4 && !others.to_string().contains(secret) {
            assert!(!parsed.public.to_string().contains(secret));
        }
    }
    let again = Exact
        .parse_options(&parsed.public, true)
        .expect("stored options validate again");
    assert_eq!(again.public, parsed.public);
    let config = Exact
        .upstream_config(&parsed.public, SecretString::from("s".to_owned()))
        .expect("stored options make an upstream configuration");
    let _ = Exact.authorize_url(&config, "https://acme.example/login/callback", "state");
});
