//! `redact` on any upstream answer and known secrets: at most 2049 characters, and no known
//! secret (of 4 characters or more that shares no character with the `[redacted]` mark) kept,
//! raw or JSON-escaped.
#![no_main]

use arbitrary::Arbitrary;
use gatehouse::providers::upstream_http::{redact, TRACE_ANSWER_CHARS};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    secrets: Vec<&'a str>,
    body: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let out = redact(input.body, &input.secrets);
    assert!(out.chars().count() <= TRACE_ANSWER_CHARS + 1);
    for secret in input.secrets.iter().filter(|s| s.len() >= 4) {
        if secret.chars().any(|c| "[redacted]…".contains(c)) {
            continue; // the mark itself may spell it
        }
        assert!(!out.contains(secret), "{secret:?} kept");
        let quoted = serde_json::to_string(secret).expect("a string serialises");
        assert!(
            !out.contains(&quoted[1..quoted.len() - 1]),
            "{secret:?} kept escaped"
        );
    }
});
