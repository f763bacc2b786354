//! Exact's token answer, as the code exchange reads it: parsed or refused, never a panic.
#![no_main]

use gatehouse::providers::exact::parse_token_answer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Some(tokens) = parse_token_answer(body) {
        assert!(tokens.expires_in.is_none_or(|n| n > 0));
    }
});
