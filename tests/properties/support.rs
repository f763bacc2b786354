//! What the properties share: the runner's bounds and generators of outside input.

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{json, Value};

/// Bounded so the whole binary stays well under a minute in a debug build.
pub fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Strings that are likely to matter to a parser, mixed with arbitrary Unicode.
pub fn text() -> BoxedStrategy<String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9:/?#&=%._~!*+@\\[\\] -]{0,24}",
        Just(String::new()),
        Just("0".to_owned()),
        Just("1".to_owned()),
        Just(" ".to_owned()),
        Just("https://start.exactonline.nl".to_owned()),
        Just("http://127.0.0.1:9".to_owned()),
    ]
    .boxed()
}

/// Any JSON value, a few levels deep.
pub fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// URL-shaped strings: schemes a browser would execute, odd hosts, fragments, wildcards.
pub fn url_like() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![
        Just("https"),
        Just("http"),
        Just("HTTPS"),
        Just("HtTp"),
        Just("javascript"),
        Just("JavaScript"),
        Just("data"),
        Just("file"),
        Just("vbscript"),
        Just("about"),
        Just("blob"),
        Just("ftp"),
        Just("com.example.app"),
        Just(" https"),
        Just("java\tscript"),
    ];
    let separator = prop_oneof![
        Just("://"),
        Just(":"),
        Just(":/"),
        Just(":///"),
        Just(":\\\\")
    ];
    let host = prop_oneof![
        Just("app.example.com"),
        Just("start.exactonline.nl"),
        Just("localhost"),
        Just("localhost:3000"),
        Just("127.0.0.1"),
        Just("127.0.0.1:9999"),
        Just("127.1"),
        Just("0x7f.1"),
        Just("[::1]"),
        Just("[::ffff:127.0.0.1]"),
        Just("10.0.0.1"),
        Just("localhost."),
        Just(""),
        Just("*.a.com"),
        Just("user:pw@h.example"),
        Just("@h.example"),
        Just("%2e%2e"),
        Just("xn--e1afmkfd.example"),
    ];
    let path = "(/[a-zA-Z0-9%._~*!$&'()+,;=:@-]{0,8}){0,3}/?";
    let query = prop::option::of("[a-z0-9=&%+]{0,10}");
    let fragment = prop::option::of("[a-z0-9]{0,5}");
    (scheme, separator, host, path, query, fragment).prop_map(|(s, sep, h, p, q, f)| {
        let mut out = format!("{s}{sep}{h}{p}");
        if let Some(q) = q {
            out.push('?');
            out.push_str(&q);
        }
        if let Some(f) = f {
            out.push('#');
            out.push_str(&f);
        }
        out
    })
}
