//! `RedirectUri::parse` on any text: an answer, and what it accepts is an absolute URL without
//! fragment, wildcard or executable scheme.
#![no_main]

use gatehouse::domain::RedirectUri;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|value: &str| {
    let Ok(uri) = RedirectUri::parse("callbacks", value) else {
        return;
    };
    assert_eq!(uri.as_str(), value);
    let url = url::Url::parse(value).expect("an accepted redirect URI is a URL");
    assert!(url.fragment().is_none(), "{value:?}");
    assert!(
        !["javascript", "data", "file", "vbscript", "about", "blob"].contains(&url.scheme()),
        "{value:?}"
    );
    assert!(!value.contains('*'), "{value:?}");
    assert!(value.trim() == value && !value.chars().any(|c| c == ' ' || c.is_control()));
    if matches!(url.scheme(), "http" | "https") {
        assert!(url.host_str().is_some_and(|h| !h.is_empty()), "{value:?}");
    }
});
