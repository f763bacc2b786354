//! The options of every strategy (`oidc`, `oauth2` beside Exact's own file): never a panic;
//! accepted options never hold the client secret, validate again unchanged, load for a login,
//! and survive a save of the dashboard form unchanged.

use gatehouse::providers::STRATEGIES;
use proptest::prelude::*;
use secrecy::SecretString;
use serde_json::{Map, Value};

use crate::support::{config, json_value, text, url_like};

/// The option names of each strategy, with plausible values sometimes and anything at others.
const OIDC: &[&str] = &[
    "client_id",
    "discovery_url",
    "issuer",
    "type",
    "scope",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "token_endpoint_auth_method",
    "connection_settings",
    "attribute_map",
    "fetch_userinfo",
    "upstream_params",
    "domain_aliases",
    "set_user_root_attributes",
    "non_persistent_attrs",
    "oidc_metadata",
];
const OAUTH2: &[&str] = &[
    "client_id",
    "authorizationURL",
    "tokenURL",
    "profile_url",
    "scope",
    "pkce_enabled",
    "customHeaders",
    "authParams",
    "upstream_params",
    "token_endpoint_auth_method",
    "profile_map",
    "set_user_root_attributes",
    "non_persistent_attrs",
];

fn value() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => url_like().prop_map(Value::String),
        2 => text().prop_map(Value::String),
        1 => json_value(),
        1 => prop::collection::btree_map("[a-z_]{1,12}", "/[a-z]{0,8}", 0..4)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k, Value::String(v))).collect())),
    ]
    .boxed()
}

/// An options object for the strategy `index` names: some of its keys, now and then an
/// unknown one, and a recognisable secret.
fn options(names: &'static [&'static str]) -> impl Strategy<Value = Value> {
    (
        prop::collection::vec((prop::sample::select(names), value()), 0..8),
        prop::option::of("SECRET-[a-z0-9]{4,12}"),
        prop::option::of(("[a-zA-Z]{1,10}", json_value())),
    )
        .prop_map(|(pairs, secret, unknown)| {
            let mut map = Map::new();
            for (k, v) in pairs {
                map.insert(k.to_owned(), v);
            }
            if let Some(secret) = secret {
                map.insert("client_secret".into(), Value::String(secret));
            }
            if let Some((k, v)) = unknown {
                map.insert(k, v);
            }
            Value::Object(map)
        })
}

fn check(strategy_name: &str, options: &Value) -> Result<(), TestCaseError> {
    let strategy = STRATEGIES
        .iter()
        .find(|s| s.name() == strategy_name)
        .unwrap();
    let Ok(parsed) = strategy.parse_options(options, true) else {
        return Ok(());
    };
    prop_assert!(
        !parsed.public.to_string().contains("SECRET-"),
        "{}",
        parsed.public
    );
    let again = strategy.parse_options(&parsed.public, true);
    prop_assert!(
        again.is_ok(),
        "{} no longer validates: {:?}",
        parsed.public,
        again.err()
    );
    prop_assert_eq!(&again.unwrap().public, &parsed.public);
    let loaded = strategy.upstream_config(&parsed.public, SecretString::from("s".to_owned()));
    prop_assert!(
        loaded.is_ok(),
        "{} does not load: {:?}",
        parsed.public,
        loaded.err()
    );
    // The dashboard shows the options and a save without changes means options that validate.
    let values = strategy.form_values(&parsed.public);
    let saved = strategy.form_options(&values, Some(&parsed.public));
    prop_assert!(
        strategy.parse_options(&saved, true).is_ok(),
        "{} saved as {saved}",
        parsed.public
    );
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn oidc_options_are_parsed_or_refused_and_what_is_stored_loads(options in options(OIDC)) {
        check("oidc", &options)?;
    }

    #[test]
    fn oauth2_options_are_parsed_or_refused_and_what_is_stored_loads(options in options(OAUTH2)) {
        check("oauth2", &options)?;
    }
}
