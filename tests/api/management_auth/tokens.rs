//! Which bearer tokens open the management API: the tenant's own client credentials tokens,
//! while their key exists; anything else (no header, forged, an ID token, a megabyte, another
//! tenant's) is a 401 in Auth0's shape, never a 500.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::management_support::*;

#[tokio::test]
async fn a_client_credentials_token_of_the_tenant_opens_the_api() {
    let api = Api::start().await;
    let res = api.get("/connections").await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body, json!([]));
}

#[tokio::test]
async fn requests_without_a_usable_authorization_header_get_401_in_auth0_shape() {
    let api = Api::start().await;
    let http = &api.app.http;
    let url = api.url("/connections");
    for builder in [
        http.get(&url),
        http.get(&url).header("Authorization", "Bearer"),
        http.get(&url).header("Authorization", "Basic dXNlcjpwYXNz"),
        http.get(&url).header("Authorization", "token abc"),
    ] {
        let res = into_res(builder.send().await.unwrap()).await;
        assert_auth0_error(&res, 401, "invalid_token");
        assert_eq!(res.header("www-authenticate"), Some("Bearer"));
    }
}

/// Every token SECURITY.md lists as refused, built from a valid one by spoiling one thing.
async fn forged_tokens(api: &Api) -> Vec<(&'static str, String)> {
    let good = api.good_claims();
    let with = |key: &str, value: Value| {
        let mut c = good.clone();
        c[key] = value;
        c
    };
    let without = |key: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(key);
        c
    };
    let at = json!({ "alg": "RS256", "typ": "at+jwt" });
    let header = |extra: Value| {
        let mut h = at.clone();
        for (k, v) in extra.as_object().unwrap() {
            h[k] = v.clone();
        }
        h
    };
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let now = chrono::Utc::now().timestamp();

    let jwks: Value = api
        .app
        .http
        .get(api.app.tenant_url(&api.tenant, "/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let n = jwks["keys"][0]["n"].as_str().unwrap().to_owned();
    let hs256 = jsonwebtoken::encode(
        &Header {
            kid: jwks["keys"][0]["kid"].as_str().map(str::to_owned),
            typ: Some("at+jwt".into()),
            ..Header::new(jsonwebtoken::Algorithm::HS256)
        },
        &good,
        &EncodingKey::from_secret(n.as_bytes()).unwrap(),
    )
    .unwrap();

    let valid = api.sign(at.clone(), good.clone()).await;
    let mut bad_signature = valid.clone();
    bad_signature.truncate(valid.len() - 4);
    bad_signature.push_str("AAAA");
    vec![
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "at+jwt"})),
                b64(&good)
            ),
        ),
        ("HS256 signed with the public key", hs256),
        (
            "unknown kid",
            api.sign(header(json!({"kid": "no-such-key"})), good.clone())
                .await,
        ),
        (
            "jku header",
            api.sign(
                header(json!({"jku": "https://evil.example/jwks"})),
                good.clone(),
            )
            .await,
        ),
        (
            "x5u header",
            api.sign(
                header(json!({"x5u": "https://evil.example/cert"})),
                good.clone(),
            )
            .await,
        ),
        (
            "jwk header",
            api.sign(header(json!({"jwk": jwks["keys"][0]})), good.clone())
                .await,
        ),
        (
            "wrong iss",
            api.sign(at.clone(), with("iss", json!("https://evil.example/")))
                .await,
        ),
        (
            "wrong aud",
            api.sign(
                at.clone(),
                with("aud", json!(api.app.tenant_url(&api.tenant, "/userinfo"))),
            )
            .await,
        ),
        (
            "expired",
            api.sign(at.clone(), with("exp", json!(now - 120))).await,
        ),
        ("missing exp", api.sign(at.clone(), without("exp")).await),
        (
            "ID token typ",
            api.sign(header(json!({"typ": "JWT"})), good.clone()).await,
        ),
        (
            "no typ",
            api.sign(json!({"alg": "RS256"}), good.clone()).await,
        ),
        ("bad signature", bad_signature),
        ("truncated", valid[..valid.len() / 2].to_owned()),
        ("two parts", valid.rsplit_once('.').unwrap().0.to_owned()),
        ("non-base64", "%%%.!!!.***".to_owned()),
        ("garbage", "not a token at all".to_owned()),
        (
            "100 KB",
            format!("{}.{}.{}", b64(&at), "A".repeat(100 * 1024), "B"),
        ),
    ]
}

#[tokio::test]
async fn every_forged_or_misused_token_is_refused_with_401_never_500() {
    let api = Api::start().await;
    // The same signing path makes a token that is accepted, so each refusal below is due to
    // the one thing spoilt.
    let control = api
        .sign(json!({"alg": "RS256", "typ": "at+jwt"}), api.good_claims())
        .await;
    assert_eq!(api.list_with(&control).await.status, 200);
    for (case, token) in forged_tokens(&api).await {
        let res = api.list_with(&token).await;
        assert_eq!(res.status, 401, "{case}: {:?}", res.body);
        assert_auth0_error(&res, 401, "invalid_token");
    }
}

#[tokio::test]
async fn an_id_token_from_a_real_login_is_not_a_management_token() {
    let s = crate::login::login_setup().await;
    let res = crate::login::login(&s, &s.web, &[]).await;
    let (_, params) = location_params(&res);
    let tokens: Value = crate::login::redeem(
        &s,
        &[
            ("grant_type", "authorization_code"),
            ("code", &params["code"]),
            ("redirect_uri", &s.web.callback),
            ("client_id", &s.web.client_id),
            ("client_secret", s.web.client_secret.as_deref().unwrap()),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    for token in [&tokens["id_token"], &tokens["access_token"]] {
        let res = s
            .app
            .http
            .get(s.app.tenant_url(&s.tenant, "/api/v2/connections"))
            .bearer_auth(token.as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
}

#[tokio::test]
async fn a_megabyte_token_is_refused_without_a_server_error() {
    let api = Api::start().await;
    let sent = api
        .request_as(
            &"A".repeat(1024 * 1024),
            reqwest::Method::GET,
            "/connections",
        )
        .send()
        .await;
    // actix-http refuses a request head this large before any handler runs, with 431
    // Request Header Fields Too Large (tokens up to its limit, like the 100 KB one among the
    // forged tokens, reach the API and get its 401). Either way: refused, never a 500. It
    // closes the connection after its answer, so a client still writing the megabyte may see
    // the connection reset instead of the 431.
    match sent {
        Ok(res) => assert!(
            matches!(res.status().as_u16(), 401 | 431),
            "{}",
            res.status()
        ),
        Err(e) => assert!(e.status().is_none(), "{e}"),
    }
    // From a new client (so on a new connection): the shared client's pooled connection may be
    // one the server closed.
    let res = browser()
        .get(api.url("/connections"))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the server still serves");
}

#[tokio::test]
async fn tenant_a_token_is_refused_on_tenant_b() {
    let api = Api::start().await;
    let other = api.app.create_tenant("globex").await;
    let res = api
        .app
        .http
        .get(api.app.tenant_url(&other, "/api/v2/connections"))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_auth0_error(&into_res(res).await, 401, "invalid_token");
}

#[tokio::test]
async fn a_token_verified_before_is_refused_once_its_key_is_gone() {
    let api = Api::start().await;
    for _ in 0..500 {
        if api.app.state.cache.is_live() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // Verified once, then served from the node's memory of that verification.
    assert_eq!(api.get("/connections").await.status, 200);
    assert_eq!(api.get("/connections").await.status, 200);
    let rotated = api.post("/keys/signing/rotate", Value::Null).await;
    assert_eq!(rotated.status, 201, "{:?}", rotated.body);
    // The old key leaves the database (as at the end of its retention), behind the node's back.
    api.app
        .execute_config_sql(&format!(
            "DELETE FROM signing_keys WHERE tenant_id = '{}' AND kid <> '{}'",
            api.tenant.tenant_id,
            rotated.body["kid"].as_str().unwrap()
        ))
        .await;
    assert_auth0_error(&api.get("/connections").await, 401, "invalid_token");
}
