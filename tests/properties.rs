//! Property tests of the parsers that take outside input: whatever arrives, they answer (never
//! panic), and what they accept keeps the promises the rest of Gatehouse builds on.

use std::sync::OnceLock;

use gatehouse::crypto::signing::{generate_key, SigningKey};
use gatehouse::domain::{BaseUrl, ConnectionName, HostName, RedirectUri, TenantSlug};
use gatehouse::providers::exact::{self, Exact};
use gatehouse::providers::upstream_http::{redact, TRACE_ANSWER_CHARS};
use gatehouse::providers::Provider;
use gatehouse::routes::login::params::{ParamError, Params, MAX_PARAM_CHARS};
use gatehouse::services::tokens::{check_header, verify_with_key, ACCESS_TOKEN_TYPE, MAX_TOKEN_BYTES};
use jsonwebtoken::DecodingKey;
use proptest::prelude::*;
use proptest::test_runner::Config;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map, Value};

/// Bounded so the whole binary stays well under a minute in a debug build.
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Generators

/// Strings that are likely to matter to a parser, mixed with arbitrary Unicode.
fn text() -> BoxedStrategy<String> {
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
fn json_value() -> BoxedStrategy<Value> {
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
fn url_like() -> impl Strategy<Value = String> {
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

// ---------------------------------------------------------------------------------------------
// RedirectUri and BaseUrl

fn check_redirect_uri(value: &str) -> Result<(), TestCaseError> {
    let Ok(uri) = RedirectUri::parse("callbacks", value) else {
        return Ok(());
    };
    prop_assert_eq!(uri.as_str(), value, "kept exactly as given");
    let url = url::Url::parse(value).map_err(|e| TestCaseError::fail(format!("{value}: {e}")))?;
    prop_assert!(url.fragment().is_none(), "{value} has a fragment");
    prop_assert!(
        !["javascript", "data", "file", "vbscript", "about", "blob"].contains(&url.scheme()),
        "{value} has scheme {}",
        url.scheme()
    );
    let lower = value.to_ascii_lowercase();
    for bad in ["javascript:", "data:", "file:"] {
        prop_assert!(!lower.starts_with(bad), "{value}");
    }
    prop_assert!(!value.contains('*') && !value.contains('#'), "{value}");
    prop_assert!(
        value.trim() == value && !value.chars().any(|c| c == ' ' || c.is_control()),
        "{value:?}"
    );
    prop_assert!(!value.is_empty() && value.len() <= 2048);
    if matches!(url.scheme(), "http" | "https") {
        prop_assert!(url.host_str().is_some_and(|h| !h.is_empty()), "{value}");
    }
    Ok(())
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

fn check_base_url(value: &str) -> Result<(), TestCaseError> {
    let Ok(base) = BaseUrl::parse("baseUrl", value) else {
        return Ok(());
    };
    let url = url::Url::parse(base.as_str())
        .map_err(|e| TestCaseError::fail(format!("{value} -> {}: {e}", base.as_str())))?;
    prop_assert!(
        url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url)),
        "{value} -> {}",
        base.as_str()
    );
    prop_assert!(
        url.username().is_empty() && url.password().is_none(),
        "{value}"
    );
    prop_assert!(url.query().is_none() && url.fragment().is_none(), "{value}");
    prop_assert!(!base.as_str().ends_with('/'), "{}", base.as_str());
    // Stored, then read again: the same value.
    let again = BaseUrl::parse("baseUrl", base.as_str());
    prop_assert_eq!(
        again.as_ref(),
        Ok(&base),
        "{} does not parse back to itself",
        base.as_str()
    );
    // Every endpoint joins to a URL on the same origin.
    for path in [
        "/api/oauth2/auth",
        "/api/oauth2/token",
        "/api/v1/current/Me",
    ] {
        let joined = url::Url::parse(&base.join(path))
            .map_err(|e| TestCaseError::fail(format!("{}{path}: {e}", base.as_str())))?;
        prop_assert_eq!(joined.origin(), url.origin());
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn a_redirect_uri_that_parses_is_an_absolute_url_without_fragment_or_executable_scheme(
        value in prop_oneof![url_like(), any::<String>()]
    ) {
        check_redirect_uri(&value)?;
    }

    #[test]
    fn a_base_url_that_parses_is_https_or_loopback_http_and_joins_to_its_endpoints(
        value in prop_oneof![url_like(), any::<String>()]
    ) {
        check_base_url(&value)?;
    }
}

fn dns_label_chars(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn slugs_connection_names_and_domains_that_parse_follow_their_patterns(
        value in prop_oneof![any::<String>(), "[a-zA-Z0-9.:-]{0,70}", "[a-z0-9-]{1,8}(\\.[a-z0-9-]{1,8}){0,3}(:[0-9]{1,6})?"]
    ) {
        if let Ok(slug) = TenantSlug::parse(&value) {
            let s = slug.as_str();
            prop_assert!((3..=63).contains(&s.len()), "{s:?}");
            prop_assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            prop_assert!(!s.starts_with('-') && !s.ends_with('-') && !s.contains("--"), "{s:?}");
        }
        if let Ok(name) = ConnectionName::parse(&value) {
            let s = name.as_str();
            prop_assert!((1..=128).contains(&s.len()) && dns_label_chars(s), "{s:?}");
            prop_assert!(!s.starts_with('-') && !s.ends_with('-') && !s.contains("--"), "{s:?}");
        }
        if let Ok(host) = HostName::parse("domain", &value) {
            let s = host.as_str();
            let name = s.rsplit_once(':').map_or(s, |(h, _)| h);
            prop_assert!(name.contains('.') && name.len() <= 253, "{s:?}");
            prop_assert!(name.split('.').all(|l| !l.is_empty() && l.len() <= 63 && dns_label_chars(l)));
            prop_assert_eq!(s, s.to_ascii_lowercase());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Exact connection options

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
        let authorize = Exact.authorize_url(&config, "https://acme.example/login/callback", "st+/=");
        prop_assert!(url::Url::parse(&authorize).is_ok());
    }
}

// ---------------------------------------------------------------------------------------------
// Exact's answers: token and current/Me

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

// ---------------------------------------------------------------------------------------------
// Access tokens

struct Keys {
    signer: SigningKey,
    decoding: DecodingKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let generated = generate_key();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(generated.public_jwk).unwrap();
        Keys {
            signer: SigningKey::from_pkcs8(&generated.kid, &generated.pkcs8_der).unwrap(),
            decoding: DecodingKey::from_jwk(&jwk).unwrap(),
        }
    })
}

const ISSUER: &str = "https://acme.example/";
const AUDIENCE: &str = "https://acme.example/api/v2/";

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Compact tokens with hand-made headers (algorithms, key-naming headers, types) and claims,
/// and a random signature.
fn forged_token() -> impl Strategy<Value = (Value, String)> {
    let alg = prop_oneof![
        Just(json!("RS256")),
        Just(json!("none")),
        Just(json!("HS256")),
        Just(json!("ES256")),
        Just(json!("PS256")),
        Just(json!("rs256")),
        json_value(),
    ];
    let typ = prop_oneof![
        Just(json!(ACCESS_TOKEN_TYPE)),
        Just(json!("JWT")),
        json_value()
    ];
    let kid = prop_oneof![Just(json!("k1")), json_value()];
    let extra = prop_oneof![
        Just(None),
        Just(Some(("jku", json!("https://evil.example/jwks")))),
        Just(Some(("x5u", json!("https://evil.example/cert")))),
        Just(Some((
            "jwk",
            json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"})
        ))),
        Just(Some(("x5c", json!(["MIIB"])))),
        Just(Some(("crit", json!(["exp"])))),
    ];
    (
        prop::option::of(alg),
        prop::option::of(typ),
        prop::option::of(kid),
        extra,
        json_value(),
        prop::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(alg, typ, kid, extra, claims, signature)| {
            let mut header = Map::new();
            for (k, v) in [("alg", alg), ("typ", typ), ("kid", kid)] {
                if let Some(v) = v {
                    header.insert(k.to_owned(), v);
                }
            }
            if let Some((k, v)) = extra {
                header.insert(k.to_owned(), v);
            }
            let header = Value::Object(header);
            let token = format!(
                "{}.{}.{}",
                b64(header.to_string().as_bytes()),
                b64(claims.to_string().as_bytes()),
                b64(&signature)
            );
            (header, token)
        })
}

fn claims() -> impl Strategy<Value = Value> {
    let now = chrono::Utc::now().timestamp();
    (
        prop_oneof![
            Just(json!(ISSUER)),
            Just(json!("https://other.example/")),
            json_value()
        ],
        prop_oneof![
            Just(json!(AUDIENCE)),
            Just(json!([AUDIENCE, "x"])),
            Just(json!("x")),
            json_value()
        ],
        prop_oneof![
            (60i64..86_400).prop_map(move |d| json!(now + d)),
            (120i64..86_400).prop_map(move |d| json!(now - d)),
            json_value(),
        ],
        prop::option::of(prop_oneof![Just(json!("client@clients")), json_value()]),
    )
        .prop_map(move |(iss, aud, exp, sub)| {
            let mut claims = json!({
                "iss": iss, "aud": aud, "exp": exp, "iat": now,
                "azp": "client", "jti": "j", "scope": "read:users"
            });
            if let Some(sub) = sub {
                claims["sub"] = sub;
            }
            claims
        })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_string_as_a_bearer_token_is_a_rejection_never_a_panic(
        token in prop_oneof![
            any::<String>(),
            "[A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_-]{0,40}",
            "[A-Za-z0-9_=.-]{0,120}",
        ]
    ) {
        let _ = check_header(&token);
        prop_assert!(verify_with_key(&token, &keys().decoding, ISSUER, AUDIENCE).is_err());
    }

    #[test]
    fn only_rs256_access_token_headers_that_name_no_key_of_their_own_pass_the_header_check(
        (header, token) in forged_token()
    ) {
        let passed = check_header(&token);
        let acceptable = header.get("alg") == Some(&json!("RS256"))
            && header.get("typ") == Some(&json!(ACCESS_TOKEN_TYPE))
            && header.get("kid").is_some_and(Value::is_string)
            && ["jku", "x5u", "jwk", "x5c"].iter().all(|k| header.get(k).is_none());
        if passed.is_ok() {
            prop_assert!(acceptable, "{header} passed");
        }
        // Whatever the header, a random signature never verifies.
        prop_assert!(verify_with_key(&token, &keys().decoding, ISSUER, AUDIENCE).is_err());
    }

    #[test]
    fn a_signed_access_token_verifies_exactly_when_issuer_audience_expiry_and_subject_hold(
        claims in claims(),
        flip in prop::option::of(0usize..2000),
    ) {
        let token = keys().signer.sign(ACCESS_TOKEN_TYPE, &claims);
        prop_assert!(token.len() <= MAX_TOKEN_BYTES || check_header(&token).is_err());
        if token.len() <= MAX_TOKEN_BYTES {
            let kid = check_header(&token).ok();
            prop_assert_eq!(kid.as_deref(), Some(keys().signer.kid()));
        }
        let result = verify_with_key(&token, &keys().decoding, ISSUER, AUDIENCE);
        let now = chrono::Utc::now().timestamp();
        let valid = claims["iss"] == json!(ISSUER)
            && (claims["aud"] == json!(AUDIENCE) || claims["aud"] == json!([AUDIENCE, "x"]))
            && claims["exp"].as_i64().is_some_and(|e| e > now + 30)
            && claims.get("sub").is_some_and(Value::is_string);
        if valid {
            prop_assert!(result.is_ok(), "{claims}: {:?}", result.err());
        } else {
            // Validity here is stricter than the checks (e.g. exp within the leeway), so only
            // an acceptance of something clearly invalid is a failure.
            let clearly_invalid = claims["iss"] != json!(ISSUER)
                || !claims["exp"].is_number()
                || claims.get("sub").is_none();
            prop_assert!(!(clearly_invalid && result.is_ok()), "{claims} accepted");
        }
        // One changed character anywhere makes it a rejection.
        if let Some(at) = flip {
            let mut bytes = token.clone().into_bytes();
            let i = at % bytes.len();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            if tampered != token {
                prop_assert!(verify_with_key(&tampered, &keys().decoding, ISSUER, AUDIENCE).is_err());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Query and form parameters

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

// ---------------------------------------------------------------------------------------------
// Redaction of upstream answers

/// Secrets as Exact issues them (`!*+/=`), plus the characters JSON escapes. None of them share
/// a character with the `[redacted]` placeholder or the truncation mark, so any occurrence in
/// the output is a leak.
fn secret() -> impl Strategy<Value = String> {
    "[A-Z0-9!*+/=\"\\\\]{4,16}"
}

fn json_escaped(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap();
    quoted[1..quoted.len() - 1].to_owned()
}

fn answer_with(secrets: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    let s = secrets.clone();
    prop_oneof![
        // Plain text around the secrets.
        (text(), text())
            .prop_map(move |(pre, post)| { format!("{pre}{}{post}", s.join(" ")).into_bytes() }),
        // A JSON error answer echoing them in descriptions, arrays, keys and token fields.
        (text(), json_value()).prop_map(move |(pre, other)| {
            let first = secrets[0].clone();
            json!({
                "error": "invalid_grant",
                "error_description": format!("{pre}{}", secrets.join(",")),
                "echo": secrets,
                first.clone(): other,
                "access_token": first,
                "nested": {"Refresh_Token": "r-value"}
            })
            .to_string()
            .into_bytes()
        }),
    ]
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn redaction_never_keeps_a_known_secret_and_is_at_most_2049_characters(
        (secrets, body) in prop::collection::vec(secret(), 1..4)
            .prop_flat_map(|s| (Just(s.clone()), answer_with(s))),
        long in 0usize..3000,
        bytes in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let known: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let _ = redact(&bytes, &known);
        let mut body = body;
        body.extend(std::iter::repeat_n(b'x', long));
        let out = redact(&body, &known);
        prop_assert!(out.chars().count() <= TRACE_ANSWER_CHARS + 1, "{} chars", out.chars().count());
        for s in &secrets {
            prop_assert!(!out.contains(s.as_str()), "{s:?} kept in {out}");
            prop_assert!(!out.contains(&json_escaped(s)), "{s:?} kept escaped in {out}");
        }
        prop_assert!(!out.contains("r-value"), "a refresh_token value was kept: {out}");
    }
}

#[test]
fn a_secret_that_json_escapes_is_redacted_from_a_json_answer() {
    // Found by the property above: `"` and `\` are escaped when a JSON answer is re-serialised,
    // so replacing only the raw secret left `AB\"CD` in the trace.
    let body = json!({"error_description": "bad client_secret AB\"CD\\EF"}).to_string();
    let out = redact(body.as_bytes(), &["AB\"CD\\EF"]);
    assert!(!out.contains("AB\\\"CD"), "{out}");
    assert!(out.contains("[redacted]"), "{out}");
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
