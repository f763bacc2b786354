//! Signing algorithms per application and per tenant (RS256, PS256, ES256): an application's
//! ID tokens, refreshed tokens and management API tokens come in its algorithm only and verify
//! with an independent library against the JWKS; keys rotate and are revoked per algorithm;
//! a token whose header names another algorithm than its key's is refused wherever Gatehouse
//! verifies tokens; the management API and discovery say which.

use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::login::*;

fn algorithm(name: &str) -> Algorithm {
    match name {
        "RS256" => Algorithm::RS256,
        "PS256" => Algorithm::PS256,
        "ES256" => Algorithm::ES256,
        other => panic!("{other}"),
    }
}

async fn jwks(app: &TestApp, tenant: &TestTenant) -> Value {
    app.http
        .get(app.tenant_url(tenant, "/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The JWKS key `token` names, checked to be of `alg`.
async fn key_for(s: &LoginSetup, token: &str, alg: &str) -> DecodingKey {
    let kid = decode_header(token).unwrap().kid.unwrap();
    let set = jwks(&s.app, &s.tenant).await;
    let jwk = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("{kid} in the JWKS"))
        .clone();
    assert_eq!(jwk["alg"], alg, "{jwk}");
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk).unwrap();
    DecodingKey::from_jwk(&jwk).unwrap()
}

async fn set_client_alg(s: &LoginSetup, client: &TestClient, alg: &str) {
    s.app
        .execute_config_sql(&format!(
            "UPDATE clients SET signing_alg = '{alg}' WHERE client_id = '{}'",
            client.client_id
        ))
        .await;
}

fn web_code_form<'a>(s: &'a LoginSetup, code: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &s.web.callback),
        ("client_id", &s.web.client_id),
        ("client_secret", s.web.client_secret.as_deref().unwrap()),
    ]
}

#[tokio::test]
async fn an_application_gets_tokens_in_its_algorithm_only_verifiable_against_the_jwks() {
    let s = login_setup().await;
    for alg in ["ES256", "PS256", "RS256"] {
        set_client_alg(&s, &s.web, alg).await;
        let res = login(&s, &s.web, &[]).await;
        let code = location_params(&res).1["code"].clone();
        let tokens: Value = redeem(&s, &web_code_form(&s, &code))
            .await
            .json()
            .await
            .unwrap();
        let id_token = tokens["id_token"].as_str().unwrap();
        assert_eq!(decode_header(id_token).unwrap().alg, algorithm(alg));
        let key = key_for(&s, id_token, alg).await;
        let mut validation = Validation::new(algorithm(alg));
        validation.set_audience(&[&s.web.client_id]);
        validation.set_issuer(&[&s.tenant.issuer]);
        let claims = decode::<Value>(id_token, &key, &validation).unwrap().claims;
        assert_eq!(claims["nonce"], "nonce-456");
        // Verified under any other algorithm, it does not.
        for other in ["RS256", "PS256", "ES256"].iter().filter(|o| **o != alg) {
            let mut validation = Validation::new(algorithm(other));
            validation.set_audience(&[&s.web.client_id]);
            assert!(decode::<Value>(id_token, &key, &validation).is_err());
        }
        // A refresh keeps the algorithm.
        let refreshed: Value = redeem(
            &s,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
                ("client_id", &s.web.client_id),
                ("client_secret", s.web.client_secret.as_deref().unwrap()),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
        let again = refreshed["id_token"].as_str().unwrap();
        assert_eq!(decode_header(again).unwrap().alg, algorithm(alg));
        key_for(&s, again, alg).await;
    }
    // The other application, which names none, kept the tenant's default.
    let res = login(
        &s,
        &s.spa,
        &[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let code = location_params(&res).1["code"].clone();
    let tokens: Value = redeem(
        &s,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &s.spa.callback),
            ("client_id", &s.spa.client_id),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        decode_header(tokens["id_token"].as_str().unwrap())
            .unwrap()
            .alg,
        Algorithm::RS256
    );
    // Discovery says which algorithms ID tokens may come in; the JWKS has a key of each in use.
    let discovery: Value = s
        .app
        .http
        .get(
            s.app
                .tenant_url(&s.tenant, "/.well-known/openid-configuration"),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["RS256", "PS256", "ES256"])
    );
    let set = jwks(&s.app, &s.tenant).await;
    let mut algs: Vec<&str> = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    algs.sort();
    assert_eq!(algs, ["ES256", "PS256", "RS256"]);
    let ec = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["alg"] == "ES256")
        .unwrap();
    assert_eq!(
        (&ec["kty"], &ec["crv"], &ec["use"]),
        (&json!("EC"), &json!("P-256"), &json!("sig"))
    );
}

/// A management API token for a machine client set to `alg`.
async fn management_token(app: &TestApp, tenant: &TestTenant, alg: &str) -> (String, String) {
    let (client_id, secret) = app
        .fixtures()
        .machine_client(
            tenant,
            &[
                "read:clients",
                "create:clients",
                "update:clients",
                "read:signing_keys",
                "create:signing_keys",
                "update:signing_keys",
            ],
        )
        .await;
    app.execute_config_sql(&format!(
        "UPDATE clients SET signing_alg = '{alg}' WHERE client_id = '{client_id}'"
    ))
    .await;
    let token: Value = app
        .http
        .post(app.tenant_url(tenant, "/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", secret.as_str()),
            ("audience", management_audience(tenant).as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        client_id,
        token["access_token"].as_str().unwrap().to_owned(),
    )
}

async fn api_get(app: &TestApp, tenant: &TestTenant, token: &str, path: &str) -> (u16, Value) {
    let res = app
        .http
        .get(app.tenant_url(tenant, &format!("/api/v2{path}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// `token` with its header's `alg` replaced (the signature left as it was).
fn claiming(token: &str, alg: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[0]).unwrap()).unwrap();
    header["alg"] = json!(alg);
    parts[0] = URL_SAFE_NO_PAD.encode(header.to_string());
    parts.join(".")
}

#[tokio::test]
async fn management_api_tokens_follow_the_clients_algorithm_and_alg_confusion_is_refused() {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    for alg in ["ES256", "PS256"] {
        let (_, token) = management_token(&app, &tenant, alg).await;
        assert_eq!(decode_header(&token).unwrap().alg, algorithm(alg));
        assert_eq!(
            api_get(&app, &tenant, &token, "/clients").await.0,
            200,
            "{alg}"
        );
        // The same token presented as another algorithm, or as HMAC or none, is refused.
        for claimed in ["RS256", "PS256", "ES256", "HS256", "none"] {
            if claimed == alg {
                continue;
            }
            let (status, body) =
                api_get(&app, &tenant, &claiming(&token, claimed), "/clients").await;
            assert_eq!(status, 401, "{alg} as {claimed}: {body}");
        }
    }
    // An HS256 token keyed with the public key's bytes (the classic confusion) is refused.
    let (_, token) = management_token(&app, &tenant, "RS256").await;
    let header = decode_header(&token).unwrap();
    let claims: Value = {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    let set = jwks(&app, &tenant).await;
    let jwk = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == json!(header.kid))
        .unwrap();
    let mut forged_header = jsonwebtoken::Header::new(Algorithm::HS256);
    forged_header.kid = header.kid.clone();
    forged_header.typ = Some("at+jwt".into());
    let forged = jsonwebtoken::encode(
        &forged_header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(jwk.to_string().as_bytes()).unwrap(),
    )
    .unwrap();
    assert_eq!(api_get(&app, &tenant, &forged, "/clients").await.0, 401);
}

#[tokio::test]
async fn keys_rotate_and_are_revoked_per_algorithm() {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let (_, es_token) = management_token(&app, &tenant, "ES256").await;
    let (_, rs_token) = management_token(&app, &tenant, "RS256").await;
    let (status, keys) = api_get(&app, &tenant, &rs_token, "/keys/signing").await;
    assert_eq!(status, 200);
    let current = |keys: &Value, alg: &str| -> String {
        keys.as_array()
            .unwrap()
            .iter()
            .find(|k| k["alg"] == alg && k["current"] == true)
            .unwrap_or_else(|| panic!("a current {alg} key: {keys}"))["kid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (old_es, old_rs) = (current(&keys, "ES256"), current(&keys, "RS256"));
    // One rotation gives every algorithm in use a new key; the old ones stay published.
    let res = app
        .http
        .post(app.tenant_url(&tenant, "/api/v2/keys/signing/rotate"))
        .bearer_auth(&rs_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let (_, keys) = api_get(&app, &tenant, &rs_token, "/keys/signing").await;
    let (new_es, new_rs) = (current(&keys, "ES256"), current(&keys, "RS256"));
    assert!(new_es != old_es && new_rs != old_rs);
    assert_eq!(
        keys.as_array()
            .unwrap()
            .iter()
            .filter(|k| k["current"] == true)
            .count(),
        2,
        "one current key per algorithm in use"
    );
    // Tokens the old keys signed still verify; new ones come from the new keys.
    assert_eq!(api_get(&app, &tenant, &es_token, "/clients").await.0, 200);
    let (_, fresh_es) = management_token(&app, &tenant, "ES256").await;
    assert_eq!(
        decode_header(&fresh_es).unwrap().kid.as_deref(),
        Some(new_es.as_str())
    );
    // Revoking the previous ES256 key ends what it signed, and nothing of the RS256 key's.
    let res = app
        .http
        .put(app.tenant_url(&tenant, &format!("/api/v2/keys/signing/{old_es}/revoke")))
        .bearer_auth(&rs_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut refused = 0;
    for _ in 0..100 {
        if api_get(&app, &tenant, &es_token, "/clients").await.0 == 401 {
            refused += 1;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(refused, 1, "the revoked key's token is refused");
    assert_eq!(api_get(&app, &tenant, &fresh_es, "/clients").await.0, 200);
    assert_eq!(api_get(&app, &tenant, &rs_token, "/clients").await.0, 200);
    let set = jwks(&app, &tenant).await;
    assert!(set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["kid"] != json!(old_es)));
}

#[tokio::test]
async fn the_management_api_sets_an_applications_algorithm_and_names_a_bad_one() {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let (machine, token) = management_token(&app, &tenant, "RS256").await;
    let send = |method: reqwest::Method, path: String, body: Value| {
        let req = app
            .http
            .request(method, app.tenant_url(&tenant, &format!("/api/v2{path}")))
            .bearer_auth(&token)
            .json(&body);
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }
    };
    let (status, made) = send(
        reqwest::Method::POST,
        "/clients".into(),
        json!({"name": "api", "app_type": "non_interactive", "jwt_configuration": {"alg": "ES256"}}),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["jwt_configuration"], json!({"alg": "ES256"}));
    let path = format!("/clients/{}", made["client_id"].as_str().unwrap());
    for (body, field) in [
        (
            json!({"jwt_configuration": {"alg": "HS256"}}),
            "jwt_configuration.alg",
        ),
        (
            json!({"jwt_configuration": {"alg": "none"}}),
            "jwt_configuration.alg",
        ),
        (
            json!({"jwt_configuration": {"alg": 256}}),
            "jwt_configuration.alg",
        ),
        (
            json!({"jwt_configuration": {"lifetime_in_seconds": 60}}),
            "jwt_configuration.lifetime_in_seconds",
        ),
        (json!({"jwt_configuration": "ES256"}), "jwt_configuration"),
    ] {
        let (status, res) = send(reqwest::Method::PATCH, path.clone(), body.clone()).await;
        assert_eq!(status, 400, "{body}: {res}");
        assert!(
            res["message"].as_str().unwrap().contains(field),
            "{body}: {res}"
        );
    }
    // Back to the tenant's default, which the answer shows.
    let (status, res) = send(
        reqwest::Method::PATCH,
        path.clone(),
        json!({"jwt_configuration": {"alg": null}}),
    )
    .await;
    assert_eq!(
        (status, &res["jwt_configuration"]),
        (200, &json!({"alg": "RS256"}))
    );
    let (_, machine_json) = api_get(&app, &tenant, &token, &format!("/clients/{machine}")).await;
    assert_eq!(machine_json["jwt_configuration"]["alg"], "RS256");
}

#[tokio::test]
async fn the_tenants_default_applies_to_applications_that_name_none() {
    let s = login_setup().await;
    let actor = gatehouse::services::Actor::named("test");
    gatehouse::services::keys::set_default_alg(
        &s.app.pool,
        &s.app.state.sealer,
        s.tenant.tenant_id,
        "ES256",
        &actor,
    )
    .await
    .unwrap()
    .unwrap();
    let refused = gatehouse::services::keys::set_default_alg(
        &s.app.pool,
        &s.app.state.sealer,
        s.tenant.tenant_id,
        "HS256",
        &actor,
    )
    .await
    .unwrap();
    assert!(refused.is_err());
    // The change reaches the node's cache through the database's notification.
    let mut alg = Algorithm::RS256;
    for _ in 0..100 {
        let res = login(&s, &s.web, &[]).await;
        let code = location_params(&res).1["code"].clone();
        let tokens: Value = redeem(&s, &web_code_form(&s, &code))
            .await
            .json()
            .await
            .unwrap();
        alg = decode_header(tokens["id_token"].as_str().unwrap())
            .unwrap()
            .alg;
        if alg == Algorithm::ES256 {
            key_for(&s, tokens["id_token"].as_str().unwrap(), "ES256").await;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(alg, Algorithm::ES256);
    let changed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE tenant_id = $1 AND type = 'tenant_updated'
           AND details->'changes'->0->>'to' = 'ES256'",
    )
    .bind(s.tenant.tenant_id)
    .fetch_one(&s.app.pool)
    .await
    .unwrap();
    assert_eq!(changed, 1, "the change is in the tenant's log");
}
