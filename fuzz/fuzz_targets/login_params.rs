//! Query and form parameters of the login endpoints (and the JSON form of `/oauth/token`):
//! parsed or refused, accepted values bounded.
#![no_main]

use gatehouse::routes::login::params::{Params, MAX_PARAM_CHARS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(params) = Params::parse(text) {
            for (k, _) in url::form_urlencoded::parse(data) {
                assert!(params.get(&k).is_none_or(|v| v.len() <= MAX_PARAM_CHARS));
            }
        }
    }
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = Params::from_json(&json);
    }
});
