//! Exact's answers, token and `current/Me`: parsed or refused, never a panic; a profile that
//! comes out is bounded.

use gatehouse::providers::exact;
use proptest::prelude::*;
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};

use crate::support::{config, json_value, text};

fn token_answer() -> impl Strategy<Value = Value> {
    let expires = prop_oneof![
        any::<u64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n.to_string())),
        "[0-9 ]{0,6}".prop_map(Value::String),
        json_value(),
    ];
    (
        prop::option::of(prop_oneof![
            "[A-Za-z0-9!*+/=_-]{0,40}".prop_map(Value::String),
            json_value()
        ]),
        prop::option::of(prop_oneof![
            Just(json!("bearer")),
            Just(json!("Bearer")),
            json_value()
        ]),
        prop::option::of(expires),
        prop::option::of(prop_oneof![
            "[A-Za-z0-9!*+/=_-]{0,40}".prop_map(Value::String),
            json_value()
        ]),
    )
        .prop_map(|(access, ty, expires, refresh)| {
            let mut map = Map::new();
            for (k, v) in [
                ("access_token", access),
                ("token_type", ty),
                ("expires_in", expires),
                ("refresh_token", refresh),
            ] {
                if let Some(v) = v {
                    map.insert(k.to_owned(), v);
                }
            }
            Value::Object(map)
        })
}

fn me_answer() -> impl Strategy<Value = (Value, Value)> {
    let user_id = prop_oneof![
        "[a-f0-9-]{1,36}".prop_map(Value::String),
        text().prop_map(Value::String),
        "x{90,110}".prop_map(Value::String),
        json_value(),
    ];
    let field = prop::option::of(prop_oneof![
        text().prop_map(Value::String),
        "é{500,520}".prop_map(Value::String),
        json_value()
    ]);
    let record = (
        prop::option::of(user_id),
        field.clone(),
        field.clone(),
        field,
        prop::option::of(json_value()),
        prop::collection::btree_map(text(), json_value(), 0..3),
    )
        .prop_map(|(id, name, email, first, metadata, rest)| {
            let mut map: Map<String, Value> = rest.into_iter().collect();
            for (k, v) in [
                ("UserID", id),
                ("FullName", name),
                ("Email", email),
                ("FirstName", first),
                ("__metadata", metadata),
            ] {
                if let Some(v) = v {
                    map.insert(k.to_owned(), v);
                }
            }
            Value::Object(map)
        });
    let envelope = (record, 0..5u8, json_value()).prop_map(|(record, shape, other)| match shape {
        0 => json!({"d": {"results": [record]}}),
        1 => json!({"d": record}),
        2 => json!({"d": {"results": [record, other]}}),
        3 => json!({"d": {"results": other}}),
        _ => other,
    });
    let options = prop_oneof![
        Just(json!({})),
        Just(json!({"profile": false})),
        Just(json!({"non_persistent_attrs": ["Email", "FullName", "CurrentDivision"]})),
        json_value(),
    ];
    (envelope, options)
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn a_token_answer_is_parsed_or_refused_never_a_panic(
        answer in token_answer(),
        bytes in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let _ = exact::parse_token_answer(&bytes);
        let tokens = exact::parse_token_answer(answer.to_string().as_bytes());
        let access_is_text = answer.get("access_token").is_some_and(Value::is_string);
        if !access_is_text {
            prop_assert!(tokens.is_none(), "accepted without a string access_token: {answer}");
        }
        if let Some(tokens) = tokens {
            prop_assert_eq!(
                tokens.access_token.expose_secret(),
                answer["access_token"].as_str().unwrap()
            );
            prop_assert!(tokens.expires_in.is_none_or(|n| n > 0));
            let expected = match answer.get("expires_in") {
                Some(Value::Number(n)) => n.as_u64(),
                Some(Value::String(s)) => s.trim().parse().ok(),
                _ => None,
            }
            .filter(|n| *n > 0);
            prop_assert_eq!(tokens.expires_in, expected);
        }
    }

    #[test]
    fn a_profile_answer_yields_a_bounded_auth0_profile_or_a_named_problem(
        (answer, options) in me_answer(),
        bytes in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let _ = exact::parse_me_answer(&bytes, &options);
        let Ok(profile) = exact::parse_me_answer(answer.to_string().as_bytes(), &options) else {
            return Ok(());
        };
        let id = &profile.provider_user_id;
        prop_assert!(!id.is_empty() && id.len() <= 100, "{id:?}");
        prop_assert!(!id.contains('|') && !id.chars().any(char::is_control), "{id:?}");
        prop_assert_eq!(&profile.user_id, &format!("exact|{id}"));
        let root = &profile.root;
        for field in [&root.email, &root.name, &root.nickname, &root.given_name, &root.family_name, &root.picture, &root.locale]
            .into_iter()
            .flatten()
        {
            prop_assert!(!field.is_empty() && field.chars().count() <= 512, "{field:?}");
        }
        prop_assert!(profile.profile_data.get("__metadata").is_none());
        if options.get("profile") == Some(&json!(false)) {
            prop_assert!(root.email.is_none() && root.name.is_none() && root.given_name.is_none());
        }
        if let Some(Value::Array(dropped)) = options.get("non_persistent_attrs") {
            for key in dropped.iter().filter_map(Value::as_str) {
                prop_assert!(profile.profile_data.get(key).is_none(), "{key} kept");
            }
        }
    }
}

#[test]
fn profile_answers_that_hold_no_user_are_named_problems_not_panics() {
    use exact::MeAnswerProblem::*;
    for (body, problem) in [
        (&b"<feed/>"[..], NotJson),
        (b"", NotJson),
        (br#"{"d":{"results":[]}}"#, NoUser),
        (br#"{}"#, NoUser),
        (br#"{"d":{"results":{"UserID":"x"}}}"#, NoUser),
        (br#"{"d":{"results":[{"UserID":"a|b"}]}}"#, NoUserId),
        (br#"{"d":{"results":[{"UserID":" "}]}}"#, NoUserId),
        (br#"{"d":{"results":[{"UserID":7}]}}"#, NoUserId),
    ] {
        assert_eq!(
            exact::parse_me_answer(body, &json!({})).err(),
            Some(problem),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}
