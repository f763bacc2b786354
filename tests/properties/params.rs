//! Query and form parameters: parsed or refused, accepted values bounded, a repeated one refused.

use gatehouse::routes::login::params::{ParamError, Params, MAX_PARAM_CHARS};
use proptest::prelude::*;

use crate::support::config;

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn any_query_string_is_parsed_or_refused_and_accepted_values_are_bounded(
        raw in prop_oneof![any::<String>(), "[a-z=&%0-9+;]{0,40}"]
    ) {
        if let Ok(params) = Params::parse(&raw) {
            for (k, _) in url::form_urlencoded::parse(raw.as_bytes()) {
                if let Some(v) = params.get(&k) {
                    prop_assert!(v.len() <= MAX_PARAM_CHARS);
                }
            }
        }
    }

    #[test]
    fn distinct_parameters_round_trip_and_a_repeated_one_is_refused(
        pairs in prop::collection::btree_map(any::<String>(), any::<String>(), 0..6),
        repeat in any::<prop::sample::Index>(),
    ) {
        let encoded: Vec<String> =
            pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        let params = Params::parse(&encoded.join("&")).expect("distinct short pairs parse");
        for (k, v) in &pairs {
            prop_assert_eq!(params.get(k), (!v.is_empty()).then_some(v.as_str()));
        }
        if !encoded.is_empty() {
            let twice = encoded[repeat.index(encoded.len())].clone();
            let mut again = encoded.clone();
            again.push(twice);
            prop_assert!(matches!(Params::parse(&again.join("&")), Err(ParamError::Repeated(_))));
        }
    }
}
