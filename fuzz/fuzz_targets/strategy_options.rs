//! Every strategy's `parse_options` on any JSON: an answer, never a panic; accepted options
//! never hold the client secret, validate again unchanged, and make a usable upstream
//! configuration (what is stored can always be loaded for a login).
#![no_main]

use gatehouse::providers::STRATEGIES;
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&flag, json)) = data.split_first() else {
        return;
    };
    let Ok(options) = serde_json::from_slice::<Value>(json) else {
        return;
    };
    let strategy = STRATEGIES[flag as usize % STRATEGIES.len()];
    let Ok(parsed) = strategy.parse_options(&options, flag & 0x80 != 0) else {
        return;
    };
    assert!(
        parsed.public.get("client_secret").is_none(),
        "{}: the secret is in the public options",
        strategy.name()
    );
    let again = strategy
        .parse_options(&parsed.public, true)
        .expect("stored options validate again");
    assert_eq!(again.public, parsed.public);
    strategy
        .upstream_config(&parsed.public, SecretString::from("s".to_owned()))
        .expect("stored options make an upstream configuration");
    // The dashboard's form shows them and, saved unchanged, means the same options.
    let values = strategy.form_values(&parsed.public);
    let _ = strategy.form_options(&values, Some(&parsed.public));
});
