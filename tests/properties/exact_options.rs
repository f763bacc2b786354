//! Exact connection options: never a panic, and the client secret never in the public options.

use gatehouse::providers::exact::Exact;
use gatehouse::providers::Strategy as _;
use proptest::prelude::*;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map, Value};

use crate::support::{config, json_value, text, url_like};

/// Options objects: known keys with plausible or arbitrary values, and now and then an unknown
/// key. The client secret is always a recognisable `SECRET-…` string when given.
fn exact_options() -> impl Strategy<Value = (Value, Option<String>)> {
    let base_url = prop_oneof![url_like().prop_map(Value::String), json_value()];
    let policy = prop_oneof![
        Just(json!("on_each_login")),
        Just(json!("on_first_login")),
        Just(json!("never_on_login")),
        json_value(),
    ];
    let upstream_params = prop_oneof![
        Just(json!({"force_login": {"value": "1"}})),
        Just(json!({"force_login": "0"})),
        Just(json!({"force_login": {"value": "1", "extra": [1, 2]}})),
        json_value(),
    ];
    let attrs = prop_oneof![
        prop::collection::vec(text().prop_map(Value::String), 0..4).prop_map(Value::Array),
        json_value(),
    ];
    let scope = prop_oneof![
        text().prop_map(Value::String),
        prop::collection::vec(text().prop_map(Value::String), 0..4).prop_map(Value::Array),
        json_value(),
    ];
    let secret = prop::option::of("SECRET-[A-Za-z0-9!*+/=]{1,24}");
    (
        prop::option::of(prop_oneof![text().prop_map(Value::String), json_value()]),
        secret,
        prop::option::of(base_url),
        prop::option::of(prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            json_value()
        ]),
        prop::option::of(policy),
        prop::option::of(upstream_params),
        prop::option::of(attrs),
        prop::option::of(scope),
        prop::option::of((text(), json_value())),
    )
        .prop_map(
            |(client_id, secret, base, profile, policy, params, attrs, scope, unknown)| {
                let mut map = Map::new();
                let mut put = |k: &str, v: Option<Value>| {
                    if let Some(v) = v {
                        map.insert(k.to_owned(), v);
                    }
                };
                put("client_id", client_id);
                put("client_secret", secret.clone().map(Value::String));
                put("baseUrl", base);
                put("profile", profile);
                put("set_user_root_attributes", policy);
                put("upstream_params", params);
                put("non_persistent_attrs", attrs);
                put("scope", scope);
                if let Some((k, v)) = unknown {
                    map.insert(k, v);
                }
                (Value::Object(map), secret)
            },
        )
}

fn contains_key(value: &Value, key: &str) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(k, v)| k == key || contains_key(v, key)),
        Value::Array(items) => items.iter().any(|v| contains_key(v, key)),
        _ => false,
    }
}

/// A client secret no generated value contains by chance.
const SECRET_MARKER: &str = "gatehouse-property-secret-marker-7f3a";

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn exact_options_never_panic_and_never_return_the_client_secret_in_public(
        (options, secret) in exact_options(),
        stored in any::<bool>(),
        anything in json_value(),
    ) {
        // Any JSON at all is answered.
        let _ = Exact.parse_options(&anything, stored);

        let Ok(parsed) = Exact.parse_options(&options, stored) else {
            return Ok(());
        };
        prop_assert!(!contains_key(&parsed.public, "client_secret"), "{}", parsed.public);
        if let Some(secret) = &secret {
            // The public part does not depend on the secret: with a marker in its place it is
            // the same and holds no marker (the secret itself may be part of a default value:
            // the fuzzer found "/start.exactonl", which the default base URL contains).
            let mut marked = options.clone();
            marked
                .as_object_mut()
                .unwrap()
                .insert("client_secret".into(), Value::String(SECRET_MARKER.into()));
            let with_marker = Exact.parse_options(&marked, stored);
            prop_assert!(with_marker.is_ok(), "{marked}: {:?}", with_marker.err());
            let with_marker = with_marker.unwrap().public;
            prop_assert!(!with_marker.to_string().contains(SECRET_MARKER), "{}", with_marker);
            prop_assert_eq!(&with_marker, &parsed.public);
            prop_assert_eq!(
                parsed.client_secret.as_ref().map(|s| s.expose_secret().to_owned()),
                Some(secret.trim().to_owned())
            );
        } else {
            prop_assert!(stored, "no secret given nor stored, yet accepted");
        }
        // Scope, when kept, is a string or a list of strings.
        if let Some(scope) = parsed.public.get("scope") {
            prop_assert!(
                scope.is_string()
                    || scope.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
                "{scope}"
            );
        }
        // What is stored validates again unchanged, and makes a usable upstream configuration.
        let again = Exact.parse_options(&parsed.public, true);
        prop_assert!(again.is_ok(), "{} no longer validates: {:?}", parsed.public, again.err());
        prop_assert_eq!(&again.unwrap().public, &parsed.public);
        let config = Exact
            .upstream_config(&parsed.public, SecretString::from("s".to_owned()))
            .map_err(|e| TestCaseError::fail(format!("{}: {e}", parsed.public)))?;
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
        let authorize = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(Exact.authorize(upstream, "st+/="))
            .map_err(|e| TestCaseError::fail(e.description))?;
        prop_assert!(url::Url::parse(&authorize.url).is_ok());
    }
}

#[test]
fn a_connection_scope_must_be_a_string_or_a_list_of_strings() {
    // Found by the options property: any array was kept whole in the public options.
    let err = Exact
        .parse_options(
            &json!({"client_id": "a", "client_secret": "s", "scope": [{"deep": [1, 2]}]}),
            false,
        )
        .unwrap_err();
    assert_eq!(err.field, "options.scope");
    assert!(Exact
        .parse_options(
            &json!({"client_id": "a", "client_secret": "s", "scope": ["openid", "profile"]}),
            false
        )
        .is_ok());
}

/// The fuzzer's find (`fuzz/fuzz_targets/exact_options.rs`): a secret that is part of the default
/// base URL is accepted, and the public options are the same as with any other secret.
#[test]
fn a_secret_that_is_part_of_a_default_is_no_leak() {
    let with = |secret: &str| {
        Exact
            .parse_options(
                &serde_json::json!({ "client_id": " uuuuuabc", "client_secret": secret }),
                true,
            )
            .expect("valid options")
            .public
    };
    assert_eq!(with("/start.exactonl"), with(SECRET_MARKER));
}
