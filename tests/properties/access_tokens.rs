//! Access tokens: any bearer string is a rejection, never a panic, and a signed token verifies
//! exactly when its issuer, audience, expiry and subject hold.

use std::sync::OnceLock;

use gatehouse::crypto::signing::{generate_key, SigningAlg, SigningKey, VerifyingKey};
use gatehouse::services::tokens::{
    check_header, verify_with_key, ACCESS_TOKEN_TYPE, MAX_TOKEN_BYTES,
};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::support::{config, json_value};

struct Keys {
    signer: SigningKey,
    decoding: VerifyingKey,
}

fn key_of(alg: SigningAlg) -> Keys {
    let generated = generate_key(alg);
    Keys {
        signer: SigningKey::from_pkcs8(&generated.kid, alg, &generated.pkcs8_der).unwrap(),
        decoding: VerifyingKey::from_jwk(&generated.public_jwk).unwrap(),
    }
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| key_of(SigningAlg::Rs256))
}

/// One key of each algorithm.
fn every_alg() -> &'static [Keys] {
    static KEYS: OnceLock<Vec<Keys>> = OnceLock::new();
    KEYS.get_or_init(|| SigningAlg::ALL.into_iter().map(key_of).collect())
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
    fn only_our_algorithms_access_token_headers_that_name_no_key_of_their_own_pass_the_header_check(
        (header, token) in forged_token()
    ) {
        let passed = check_header(&token);
        let acceptable = ["RS256", "PS256", "ES256"].iter().any(|a| header.get("alg") == Some(&json!(a)))
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

    #[test]
    fn a_token_verifies_only_with_the_key_and_algorithm_it_was_signed_with(
        signer in 0usize..3,
        verifier in 0usize..3,
        claimed in 0usize..3,
    ) {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": "x", "iat": now, "exp": now + 600,
            "scope": "read:clients", "azp": "c", "jti": "j",
        });
        let keys = every_alg();
        let token = keys[signer].signer.sign(ACCESS_TOKEN_TYPE, &claims);
        // The same token with its header claiming another algorithm (alg confusion).
        let claimed_alg = SigningAlg::ALL[claimed].as_str();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut header: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &parts[0]).unwrap(),
        ).unwrap();
        header["alg"] = json!(claimed_alg);
        parts[0] = b64(header.to_string().as_bytes());
        let presented = parts.join(".");
        let result = verify_with_key(&presented, &keys[verifier].decoding, ISSUER, AUDIENCE);
        prop_assert_eq!(result.is_ok(), signer == verifier && claimed == signer, "{:?} {}", result.err(), presented);
    }
}
