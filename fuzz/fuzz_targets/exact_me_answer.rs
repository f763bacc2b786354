//! Exact's `current/Me` answer, with the connection options that shape it: a bounded Auth0
//! profile or a named problem, never a panic.
#![no_main]

use gatehouse::providers::exact::parse_me_answer;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let options = match pick % 3 {
        0 => json!({}),
        1 => json!({"profile": false}),
        _ => json!({"non_persistent_attrs": ["Email", "FullName", "CurrentDivision"]}),
    };
    let Ok(profile) = parse_me_answer(body, &options) else {
        return;
    };
    let id = &profile.provider_user_id;
    assert!(!id.is_empty() && id.len() <= 100 && !id.contains('|'));
    assert!(!id.chars().any(char::is_control));
    assert_eq!(profile.user_id, format!("exact|{id}"));
    let root = &profile.root;
    for field in [
        &root.email,
        &root.name,
        &root.nickname,
        &root.given_name,
        &root.family_name,
        &root.picture,
        &root.locale,
    ]
    .into_iter()
    .flatten()
    {
        assert!(!field.is_empty() && field.chars().count() <= 512);
    }
    assert!(profile.profile_data.get("__metadata").is_none());
});
